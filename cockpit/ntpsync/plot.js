// SPDX-License-Identifier: LGPL-2.1-or-later
// The Status card's plot: the combined offset (a line) and jitter (a band of ± jitter around it)
// over the last hour. Samples are taken when PropertiesChanged announces a change, never by
// polling, and live only in the open page. This module keeps the sample buffer and turns it into
// SVG path data; the glue only appends samples and sets the paths.

export const PLOT_WINDOW_MS = 60 * 60 * 1000;
/* A signal and the Get of Sources it invalidated arrive a few milliseconds apart: samples closer
 * than this become one, which also bounds the buffer to PLOT_WINDOW_MS / PLOT_MIN_SPACING_MS. */
export const PLOT_MIN_SPACING_MS = 2000;
export const PLOT_MAX_SAMPLES = PLOT_WINDOW_MS / PLOT_MIN_SPACING_MS;
/* The shortest time axis: a page open for a minute shows that minute, not a dot at the edge of
 * an hour. */
export const PLOT_MIN_SPAN_MS = 5 * 60 * 1000;
/* The smallest full scale, so that a perfectly quiet clock does not blow up noise of 1 ns. */
export const PLOT_MIN_SCALE_NS = 1000;
/* What a change of one of these properties can move on the plot. */
export const PLOT_PROPERTIES = ["Offset", "Jitter", "Synchronized"];

const NS_PER_S = 1e9;
const NS_PER_MS = 1e6;
const NS_PER_US = 1e3;

/* Whether a PropertiesChanged (changed and invalidated names) calls for a new sample. */
export function affectsPlot(names) {
    return (names || []).some(name => PLOT_PROPERTIES.includes(name));
}

/* A sample of the properties at `time` (ms since 1970). While not synchronized Offset is 0 and
 * means nothing: the sample is a gap (null values), so the line breaks there. */
export function sampleFromProperties(p, time) {
    if (p.Synchronized !== true || !Number.isFinite(Number(p.Offset)))
        return { time, offset: null, jitter: null };
    const jitter = Number.isFinite(Number(p.Jitter)) ? Number(p.Jitter) : null;
    return { time, offset: Number(p.Offset), jitter };
}

/* The samples of the last hour before `now`. */
export function pruneSamples(samples, now) {
    return samples.filter(sample => sample.time >= now - PLOT_WINDOW_MS && sample.time <= now);
}

/* A new buffer with the sample appended: one within PLOT_MIN_SPACING_MS of the last takes its
 * values (keeping its time, so that a steady stream still advances), the hour before it is kept,
 * and never more than PLOT_MAX_SAMPLES. The buffer passed in is left alone. */
export function appendSample(samples, sample) {
    const last = samples[samples.length - 1];
    let next;
    if (last && sample.time >= last.time && sample.time - last.time < PLOT_MIN_SPACING_MS)
        next = [...samples.slice(0, -1), { ...sample, time: last.time }];
    else
        next = [...samples, sample];
    next = pruneSamples(next, sample.time);
    return next.length > PLOT_MAX_SAMPLES ? next.slice(next.length - PLOT_MAX_SAMPLES) : next;
}

/* The smallest 1, 2 or 5 × 10^k at or above value (and at least PLOT_MIN_SCALE_NS). */
export function niceScale(value) {
    const v = Math.max(Number(value) || 0, PLOT_MIN_SCALE_NS);
    const power = 10 ** Math.floor(Math.log10(v));
    for (const step of [1, 2, 5, 10]) {
        if (step * power >= v * (1 - 1e-12)) // log10 rounding must not skip a step
            return step * power;
    }
    return 10 * power;
}

/* The full scale of the y axis (± this many ns): the largest |offset| + jitter, rounded up. */
export function plotScale(samples) {
    let largest = 0;
    for (const { offset, jitter } of samples) {
        if (offset === null)
            continue;
        largest = Math.max(largest, Math.abs(offset) + (jitter ?? 0));
    }
    return niceScale(largest);
}

/* A duration in ns in the unit that suits it: "500 ns", "20 µs", "2 ms", "1.5 s". */
export function formatDuration(ns) {
    const n = Math.abs(Number(ns));
    const trim = value => String(Number(value.toPrecision(3)));
    if (n >= NS_PER_S)
        return `${trim(n / NS_PER_S)} s`;
    if (n >= NS_PER_MS)
        return `${trim(n / NS_PER_MS)} ms`;
    if (n >= NS_PER_US)
        return `${trim(n / NS_PER_US)} µs`;
    return `${trim(n)} ns`;
}

/* Runs of consecutive samples for which `keep` holds: the pieces a gap splits the plot into. */
export function runsOf(samples, keep) {
    const runs = [];
    let run = [];
    for (const sample of samples) {
        if (keep(sample)) {
            run.push(sample);
        } else if (run.length > 0) {
            runs.push(run);
            run = [];
        }
    }
    if (run.length > 0)
        runs.push(run);
    return runs;
}

function round(value) {
    return Math.round(value * 10) / 10;
}

/* How far back the time axis reaches: to the oldest sample shown, at least PLOT_MIN_SPAN_MS and
 * at most PLOT_WINDOW_MS, in whole minutes. */
export function plotSpan(samples, now) {
    const oldest = samples.length > 0 ? Math.min(...samples.map(s => s.time)) : now;
    const minutes = Math.ceil((now - oldest) / 60_000) * 60_000;
    return Math.min(PLOT_WINDOW_MS, Math.max(PLOT_MIN_SPAN_MS, minutes));
}

/* Plot coordinates: time across (now at the right edge, `span` back at the left), ns up from the
 * middle (± scale at the edges). */
export function plotProjection({ now, width, height, scale, span = PLOT_WINDOW_MS }) {
    const start = now - span;
    const middle = height / 2;
    return {
        x: time => round((time - start) / span * width),
        y: ns => round(middle - ns / scale * middle),
    };
}

function polyline(points) {
    return points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${x} ${y}`).join(" ");
}

/* SVG path data for the offset: one subpath per run between gaps. A lone sample becomes a
 * short horizontal stroke ending at it, so that it shows (also the newest, at the right edge). */
export function offsetPath(samples, projection) {
    return runsOf(samples, s => s.offset !== null).map(run => {
        const points = run.map(s => [projection.x(s.time), projection.y(s.offset)]);
        if (points.length === 1)
            points.unshift([points[0][0] - 1, points[0][1]]);
        return polyline(points);
    }).join(" ");
}

/* SVG path data for the band offset ± jitter: per run, along the top and back along the bottom,
 * closed. */
export function jitterPath(samples, projection) {
    return runsOf(samples, s => s.offset !== null && s.jitter !== null).map(run => {
        const top = run.map(s => [projection.x(s.time), projection.y(s.offset + s.jitter)]);
        const bottom = run.map(s => [projection.x(s.time), projection.y(s.offset - s.jitter)]).reverse();
        if (run.length === 1) { // a lone sample: a thin bar ending at it
            top.unshift([top[0][0] - 1, top[0][1]]);
            bottom.push([bottom[0][0] - 1, bottom[0][1]]);
        }
        return `${polyline([...top, ...bottom])} Z`;
    }).join(" ");
}

/* What the glue draws: both paths, the scale and a caption. */
export function plotModel(samples, { now, width, height }) {
    const shown = pruneSamples(samples, now);
    const scale = plotScale(shown);
    const span = plotSpan(shown, now);
    const projection = plotProjection({ now, width, height, scale, span });
    const measured = shown.filter(s => s.offset !== null).length;
    return {
        offset: offsetPath(shown, projection),
        jitter: jitterPath(shown, projection),
        scale,
        span,
        startLabel: `${span / 60_000} min ago`,
        empty: measured === 0,
        caption: measured === 0
            ? "No offset announced yet while this page is open; the plot fills in as ntpsyncd measures."
            : `Offset (line) and ± jitter (band), last ${span / 60_000} minutes; the scale is ± ${formatDuration(scale)} ` +
              `(${measured} sample${measured === 1 ? "" : "s"} while this page is open).`,
    };
}
