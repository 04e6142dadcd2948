"""SegLab: an interactive lab for learning image segmentation.

The package is the product's core: datasets, models, losses, metrics, the training engine,
the experiment store, background jobs and the CLI. Only ``seglab.ui`` imports Streamlit.
"""

from seglab.errors import SegLabError

__version__ = "0.1.0"
__all__ = ["SegLabError", "__version__"]
