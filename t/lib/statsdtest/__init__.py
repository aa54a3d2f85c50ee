"""The mod_statsd test harness: one library for the integration, interop
and package tests, the bench, the demo and the dashboard.

Importable without pytest. Each module has one job:
  paths      where the repository, the module and apache2 are
  proc       free ports, bounded waits, /proc process helpers
  httpd      Httpd: a throwaway apache2 (config, start/stop, children)
  listeners  UDP (IPv4/IPv6) and unix datagram listeners that split lines
  httpclient a raw HTTP/1.1 client (single requests, pipelining, load)
  statsd     the real npm statsd 0.9.0: one install, one runner
  errorlog   error-log checks by message id
  lines      the metric line grammar and exact-line assertions
  servers    an Httpd shared by a module's tests; its error log checked
  interop    collectd and carbon-cache, the interop receivers
  graphite_web  graphite-web under gunicorn, rendering from whisper
"""
