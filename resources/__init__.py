"""Package data: the shipped model, the sample bracket and icons."""
