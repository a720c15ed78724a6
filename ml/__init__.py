"""The reference ML project: a data scientist's code and data, and the decisions that gate its delivery.

`ml/src/` is what runs in Azure ML (training job, scoring script) and needs scikit-learn; everything
else in this package is plain Python (the standard library and PyYAML) so that the pipeline's
decision steps (`python -m ml.decide ...`) start fast and never import scikit-learn.
"""
