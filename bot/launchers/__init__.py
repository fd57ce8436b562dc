"""Launchers run pipelines somewhere: on this machine (``local``) or on a KFP API server (``kfp``)."""
