/*
 * json_backend.js - a tiny statsd backend for `make demo`.
 *
 * statsd (0.9.0, stats.js loadBackend) does `require(name)` for every entry
 * of config.backends, then calls init(startupTime, config, events, logger).
 * We append one JSON line per flush to config.jsonBackendFile:
 *
 *   {"event":"init", "startupTime":..., "pid":...}            once, at start
 *   {"event":"flush","ts":..., "counters":{...}, "timer_data":{...}}
 *   {"event":"exit"}                                           after the final flush
 *
 * statsd flushes once more when it gets SIGTERM (process_mgmt.js calls
 * process.exit(), and stats.js flushes from its 'exit' handler), so every
 * write here is synchronous: an asynchronous write would be lost at exit.
 */
'use strict';

const fs = require('fs');

exports.init = function (startupTime, config, events, logger) {
  const file = config.jsonBackendFile;
  if (!file) {
    if (logger) {
      logger.log('json_backend: config.jsonBackendFile is not set', 'ERROR');
    }
    return false;
  }
  const write = (obj) => fs.appendFileSync(file, JSON.stringify(obj) + '\n');

  events.on('flush', function (ts, metrics) {
    write({
      event: 'flush',
      ts: ts,
      counters: metrics.counters,
      timer_data: metrics.timer_data,
    });
  });

  // stats.js registered its own 'exit' handler (the final flush) before it
  // loaded us, so this line is written after the final flush line.
  process.on('exit', function () {
    write({ event: 'exit' });
  });

  write({ event: 'init', startupTime: startupTime, pid: process.pid });
  return true;
};
