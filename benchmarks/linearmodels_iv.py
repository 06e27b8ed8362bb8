"""linearmodels' ``IV2SLS`` on the rows ``bench_instrument.py --export DIR`` writes: the reference for that
benchmark's ``--linearmodels`` comparison. Runs in its own environment (numpy, pandas, linearmodels; no latentscm):

    python benchmarks/linearmodels_iv.py DIR results.json

Each case's ``y``, ``x``, ``z`` (instruments) and ``w`` (covariates) are fitted as ``IV2SLS(y, [1, w], x,
z).fit(cov_type="robust", debiased=True)`` (HC1); the slope of ``x``, its standard error and the fit's wall time
are written as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from linearmodels.iv import IV2SLS


def main() -> None:
    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = []
    for path in sorted(folder.glob("case_*.npz")):
        data = np.load(path)
        n = data["y"].shape[0]
        exog = pd.DataFrame(np.column_stack([np.ones(n), data["w"]]),
                            columns=["const", *(f"w{i}" for i in range(data["w"].shape[1]))])
        instruments = pd.DataFrame(data["z"], columns=[f"z{i}" for i in range(data["z"].shape[1])])
        begin = time.perf_counter()
        fit = IV2SLS(pd.Series(data["y"]), exog, pd.DataFrame({"x": data["x"]}), instruments).fit(
            cov_type="robust", debiased=True)
        seconds = time.perf_counter() - begin
        results.append({"case": path.stem, "slope": float(fit.params["x"]), "std_error": float(fit.std_errors["x"]),
                        "seconds": seconds})
    out.write_text(json.dumps(results))
    print(f"{len(results)} cases -> {out}")


if __name__ == "__main__":
    main()
