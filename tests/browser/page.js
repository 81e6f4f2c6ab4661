// What the browser tests of sseio run in Chromium: EventSources that record
// everything they see, for the test to read back through the driver.
//
// sseio.open(key, url, types, closeOnEnd) opens one EventSource on `url` and
// listens for every event type in `types` (addEventListener: "message" is the
// unnamed event, any other name a named event).  Its record,
// sseio.sources[key], lists in order of arrival:
//   {kind: "open", t}
//   {kind: "message", type, data, lastEventId, t}   (a MessageEvent)
//   {kind: "error", readyState, t}                  (the connection's error event)
// and ends with closed = true once the source is CLOSED: by the browser (a 204
// or another failure that is not retried) or, with closeOnEnd, by the page at
// the first error (the body ended or broke), so the browser never reconnects.
// t is milliseconds since the page loaded (performance.now()).
// sseio.openInWaves(specs, size) opens many, a few at a time.
"use strict";

window.sseio = {
  sources: {},

  open(key, url, types, closeOnEnd) {
    const record = { url, events: [], closed: false, closedBy: null };
    window.sseio.sources[key] = record;
    const source = new EventSource(url);
    record.source = source;
    source.onopen = () => {
      record.events.push({ kind: "open", t: performance.now() });
    };
    const onEvent = (event) => {
      if (event instanceof MessageEvent) {
        record.events.push({
          kind: "message",
          type: event.type,
          data: event.data,
          lastEventId: event.lastEventId,
          t: performance.now(),
        });
        return;
      }
      // The connection's own error event (also named "error", but not a MessageEvent).
      const state = source.readyState;
      record.events.push({ kind: "error", readyState: state, t: performance.now() });
      if (state === EventSource.CLOSED) {
        record.closed = true;
        record.closedBy = "browser";
      } else if (closeOnEnd) {
        source.close();
        record.closed = true;
        record.closedBy = "page";
      }
    };
    const names = new Set(types);
    names.add("error");
    for (const name of names) {
      source.addEventListener(name, onEvent);
    }
    return key;
  },

  // The records without their EventSource objects (for the driver to read back).
  report(keys) {
    const out = {};
    for (const key of keys) {
      const record = window.sseio.sources[key];
      out[key] = {
        url: record.url,
        events: record.events,
        closed: record.closed,
        closedBy: record.closedBy,
        readyState: record.source.readyState,
      };
    }
    return out;
  },

  // Opens sources `size` at a time, each wave once every source of the one before has
  // seen its body end (its first error) or closed: Chromium keeps at most six
  // connections to one server, so opening hundreds at once would queue their
  // reconnections behind other sources' first requests and stretch the delays measured.
  async openInWaves(specs, size) {
    for (let i = 0; i < specs.length; i += size) {
      const wave = specs.slice(i, i + size);
      for (const spec of wave) window.sseio.open(...spec);
      const keys = wave.map((spec) => spec[0]);
      while (!keys.every((key) => window.sseio.ended(key))) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  },

  ended(key) {
    const record = window.sseio.sources[key];
    return record.closed || record.events.some((event) => event.kind === "error");
  },

  allClosed(keys) {
    return keys.every((key) => window.sseio.sources[key].closed);
  },
};
