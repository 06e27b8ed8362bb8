"""Network blocks shared by the learners: the disentanglement_lib convolutional encoder and
decoder (sized from the image shape), a plain MLP, and pixel likelihoods."""

from latentscm.nn.conv import ConvDecoder, ConvEncoder, conv_shapes
from latentscm.nn.likelihoods import LIKELIHOODS, BernoulliLikelihood, GaussianLikelihood, Likelihood, make_likelihood
from latentscm.nn.mlp import MLP

__all__ = [
    "LIKELIHOODS",
    "BernoulliLikelihood",
    "ConvDecoder",
    "ConvEncoder",
    "GaussianLikelihood",
    "Likelihood",
    "MLP",
    "conv_shapes",
    "make_likelihood",
]
