"""Settings: the one typed run configuration, its checks, presets and studies."""
