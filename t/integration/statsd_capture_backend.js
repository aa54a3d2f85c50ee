/* A statsd (Etsy, 0.9) backend for the integration tests: it adds up what
 * every flush saw and rewrites a JSON file after each flush, so a test can
 * read totals across any number of flushes (statsd resets counters and
 * timers after each flush, and its management `counters` command only
 * shows the current interval).
 *
 * Config: capture: { file: "/path/to/out.json" }
 */
/* jshint node:true */
const fs = require('fs');

exports.init = function (startupTime, config, events) {
  const file = (config.capture && config.capture.file) || 'capture.json';
  const totals = { flushes: 0, counters: {}, timer_counts: {}, timer_values: {},
                   timer_data: {}, counter_rates: {} };

  events.on('flush', function (timestamp, metrics) {
    totals.flushes += 1;
    for (const k in metrics.counters) {
      totals.counters[k] = (totals.counters[k] || 0) + metrics.counters[k];
    }
    for (const k in metrics.counter_rates) {
      if (metrics.counters[k]) {
        (totals.counter_rates[k] = totals.counter_rates[k] || []).push(metrics.counter_rates[k]);
      }
    }
    for (const k in metrics.timers) {
      const vals = metrics.timers[k];
      if (!vals.length) { continue; }
      totals.timer_counts[k] = (totals.timer_counts[k] || 0) + vals.length;
      totals.timer_values[k] = (totals.timer_values[k] || []).concat(vals);
      (totals.timer_data[k] = totals.timer_data[k] || []).push(metrics.timer_data[k]);
    }
    const tmp = file + '.tmp';
    fs.writeFileSync(tmp, JSON.stringify(totals));
    fs.renameSync(tmp, file);
  });
  events.on('status', function (write) {
    write(null, 'capture', 'flushes', totals.flushes);
  });
  return true;
};
