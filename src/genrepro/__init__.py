"""genrepro — an executable reproduction of three generative-model papers.

Sub-packages: ``gan`` (Goodfellow et al. 2014), ``deepgmm`` (van den Oord & Schrauwen
2014), ``dcign`` (Kulkarni et al. 2015), plus ``parzen``, ``render``, ``data``,
``profiles`` and the book runner ``genrepro.book``.
"""

__version__ = "0.1.0"
