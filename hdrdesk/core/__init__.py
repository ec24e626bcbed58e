"""Qt-free core: imaging, the fusion network, gamma maps, losses and metrics."""
