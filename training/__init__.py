"""Unsupervised training and fine-tuning (imported as ``hdrdesk.training``)."""
