"""echo-version: an HTTP service that echoes its version, with fault injection for canary demos."""
