// SPDX-License-Identifier: LGPL-2.1-or-later
import test from "node:test";
import assert from "node:assert";
import {
    PLOT_WINDOW_MS, PLOT_MIN_SPACING_MS, PLOT_MAX_SAMPLES, affectsPlot, sampleFromProperties,
    appendSample, pruneSamples, niceScale, plotScale, formatDuration, runsOf, plotProjection, offsetPath, jitterPath,
    plotModel, plotSpan, PLOT_MIN_SPAN_MS,
} from "../plot.js";

const NOW = 1_800_000_000_000;

test("only changes of offset, jitter or synchronization make a sample", () => {
    assert.ok(affectsPlot(["Offset"]));
    assert.ok(affectsPlot(["Frequency", "Jitter"]));
    assert.ok(!affectsPlot(["Frequency", "RestrictRules", "Sources"]));
    assert.ok(!affectsPlot([]));
    assert.ok(!affectsPlot(undefined));
});

test("a sample from the properties; not synchronized is a gap", () => {
    const p = { Synchronized: true, Offset: -250000, Jitter: 1200 };
    assert.deepStrictEqual(sampleFromProperties(p, NOW), { time: NOW, offset: -250000, jitter: 1200 });
    assert.deepStrictEqual(sampleFromProperties({ ...p, Jitter: undefined }, NOW), { time: NOW, offset: -250000, jitter: null });
    assert.deepStrictEqual(sampleFromProperties({ ...p, Synchronized: false, Offset: 0 }, NOW),
        { time: NOW, offset: null, jitter: null });
    assert.deepStrictEqual(sampleFromProperties({}, NOW), { time: NOW, offset: null, jitter: null });
});

test("the buffer: close samples merge, one hour kept, bounded count", () => {
    const first = appendSample([], { time: NOW, offset: 1, jitter: null });
    // the Sources Get right after the signal: same sample, the new values, the first time
    const merged = appendSample(first, { time: NOW + 20, offset: 1, jitter: 5 });
    assert.deepStrictEqual(merged, [{ time: NOW, offset: 1, jitter: 5 }]);
    assert.deepStrictEqual(first, [{ time: NOW, offset: 1, jitter: null }]); // not changed in place
    const two = appendSample(merged, { time: NOW + PLOT_MIN_SPACING_MS, offset: 2, jitter: 5 });
    assert.strictEqual(two.length, 2);

    const later = appendSample(two, { time: NOW + PLOT_WINDOW_MS + 1, offset: 3, jitter: 5 });
    assert.deepStrictEqual(later.map(s => s.offset), [2, 3]); // the first one is over an hour old
    assert.deepStrictEqual(pruneSamples(two, NOW + PLOT_WINDOW_MS).map(s => s.offset), [1, 2]);

    let samples = [];
    for (let i = 0; i < PLOT_MAX_SAMPLES + 50; i++)
        samples = appendSample(samples, { time: NOW + i * PLOT_MIN_SPACING_MS / 4, offset: i, jitter: 0 });
    assert.ok(samples.length <= PLOT_MAX_SAMPLES);
    samples = [];
    for (let i = 0; i < 2 * PLOT_MAX_SAMPLES; i++)
        samples = appendSample(samples, { time: NOW + i * PLOT_MIN_SPACING_MS, offset: i, jitter: 0 });
    assert.strictEqual(samples.length, PLOT_MAX_SAMPLES);
    assert.strictEqual(samples[samples.length - 1].offset, 2 * PLOT_MAX_SAMPLES - 1);
});

test("scale: 1, 2, 5 × 10^k above the largest |offset| + jitter, at least 1 µs", () => {
    assert.strictEqual(niceScale(0), 1000);
    assert.strictEqual(niceScale(1000), 1000);
    assert.strictEqual(niceScale(1001), 2000);
    assert.strictEqual(niceScale(4_200_000), 5_000_000);
    assert.strictEqual(niceScale(6e8), 1e9);
    assert.strictEqual(plotScale([{ offset: -1_500_000, jitter: 200_000 }, { offset: null, jitter: null }]), 2_000_000);
    assert.strictEqual(plotScale([{ offset: 100, jitter: null }]), 1000);
    assert.strictEqual(plotScale([]), 1000);
});

test("durations in a fitting unit", () => {
    assert.strictEqual(formatDuration(500), "500 ns");
    assert.strictEqual(formatDuration(20_000), "20 µs");
    assert.strictEqual(formatDuration(2_000_000), "2 ms");
    assert.strictEqual(formatDuration(-1_500_000_000), "1.5 s");
    assert.strictEqual(formatDuration(1_234_567), "1.23 ms");
});

test("gaps split the plot into runs", () => {
    const s = offset => ({ time: 0, offset, jitter: null });
    const runs = runsOf([s(1), s(2), s(null), s(null), s(3)], x => x.offset !== null);
    assert.deepStrictEqual(runs.map(run => run.map(x => x.offset)), [[1, 2], [3]]);
    assert.deepStrictEqual(runsOf([], () => true), []);
});

test("projection: now at the right edge, zero in the middle, ± scale at the edges", () => {
    const p = plotProjection({ now: NOW, width: 600, height: 100, scale: 1000 });
    assert.strictEqual(p.x(NOW), 600);
    assert.strictEqual(p.x(NOW - PLOT_WINDOW_MS), 0);
    assert.strictEqual(p.x(NOW - PLOT_WINDOW_MS / 2), 300);
    assert.strictEqual(p.y(0), 50);
    assert.strictEqual(p.y(1000), 0);
    assert.strictEqual(p.y(-1000), 100);
    assert.strictEqual(p.y(123), 43.9); // one decimal is plenty for 600 × 100
});

test("the time axis: back to the oldest sample, 5 minutes to an hour, whole minutes", () => {
    assert.strictEqual(plotSpan([], NOW), PLOT_MIN_SPAN_MS);
    assert.strictEqual(plotSpan([{ time: NOW - 1000 }], NOW), PLOT_MIN_SPAN_MS);
    assert.strictEqual(plotSpan([{ time: NOW - 12.5 * 60_000 }, { time: NOW }], NOW), 13 * 60_000);
    assert.strictEqual(plotSpan([{ time: NOW - 3 * PLOT_WINDOW_MS }], NOW), PLOT_WINDOW_MS);
    const p = plotProjection({ now: NOW, width: 600, height: 100, scale: 1000, span: 10 * 60_000 });
    assert.strictEqual(p.x(NOW - 5 * 60_000), 300);
});

test("SVG paths: a subpath per run, a band closed around the line", () => {
    const p = plotProjection({ now: NOW, width: 600, height: 100, scale: 1000 });
    const minute = 60_000;
    const samples = [
        { time: NOW - 30 * minute, offset: 0, jitter: 100 },
        { time: NOW - 20 * minute, offset: 500, jitter: 100 },
        { time: NOW - 15 * minute, offset: null, jitter: null },
        { time: NOW, offset: -1000, jitter: null },
    ];
    assert.strictEqual(offsetPath(samples, p), "M300 50 L400 25 M599 100 L600 100");
    assert.strictEqual(jitterPath(samples, p), "M300 45 L400 20 L400 30 L300 55 Z");
    assert.strictEqual(jitterPath([{ time: NOW, offset: 0, jitter: 100 }], p), "M599 45 L600 45 L600 55 L599 55 Z");
    assert.strictEqual(offsetPath([], p), "");
});

test("the model: paths, scale and caption; nothing measured yet", () => {
    const model = plotModel([{ time: NOW - 1000, offset: 1_500_000, jitter: 200_000 },
        { time: NOW - 2 * PLOT_WINDOW_MS, offset: 9e9, jitter: 0 }], { now: NOW, width: 600, height: 100 });
    assert.strictEqual(model.scale, 2_000_000); // the sample older than an hour does not count
    assert.strictEqual(model.empty, false);
    assert.strictEqual(model.span, PLOT_MIN_SPAN_MS);
    assert.strictEqual(model.startLabel, "5 min ago");
    assert.strictEqual(model.offset, "M597 12.5 L598 12.5"); // 1 s before now on a 5-minute axis
    assert.match(model.caption, /± 2 ms/);
    assert.match(model.caption, /1 sample while/);
    const empty = plotModel([{ time: NOW, offset: null, jitter: null }], { now: NOW, width: 600, height: 100 });
    assert.strictEqual(empty.empty, true);
    assert.strictEqual(empty.offset, "");
    assert.match(empty.caption, /No offset announced yet/);
});
