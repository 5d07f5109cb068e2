"""lowrank: low-rank structure in data, from Python.

Thin layer over the C++ library (no second implementation):

    lowrank.SoftImpute, ALS, RobustPCA, GAME     scikit-learn-style completion estimators
    lowrank.svd, schatten_norm, effective_ranks, principal_angles, sin_theta_distance
    lowrank.spectral_estimate, bandit, mdp       RL pieces
    lowrank.inspect                              per-layer spectra of network weights (DataFrame)
    lowrank.read_matrix, load_model, save_model  files and model folders shared with the CLI
    lowrank.plot                                 matplotlib figures (imported on demand)

See docs/python.md.
"""
from . import _core
from ._version import __version__  # generated from the VERSION file (python/CMakeLists.txt)
from .estimators import ALS, GAME, RobustPCA, SoftImpute, load_model, save_model
from .files import read_matrix
from .linalg import effective_ranks, principal_angles, schatten_norm, sin_theta_distance, svd, svd_info
from .diagnostics import inspect
from .rl import bandit, mdp, spectral_estimate
from ._docs import document_defaults as _document_defaults

for _cls in (SoftImpute, ALS, RobustPCA, GAME):  # parameters and defaults into each docstring
    _document_defaults(_cls)
del _cls

__all__ = ["SoftImpute", "ALS", "RobustPCA", "GAME", "load_model", "save_model", "read_matrix", "svd", "svd_info", "schatten_norm", "effective_ranks",
           "principal_angles", "sin_theta_distance", "spectral_estimate", "bandit", "mdp", "inspect", "plot"]

# Training itself stays in the CLI (`lowrank train`); its CSV logs plot with
# lowrank.plot.training_loss and its checkpoints load with lowrank.inspect.


def __getattr__(name):
    if name == "plot":  # matplotlib is imported only when plots are asked for
        import importlib
        return importlib.import_module(".plot", __name__)
    raise AttributeError(f"module 'lowrank' has no attribute {name!r}")
