// Render Adaptive Cards with Microsoft's adaptivecards library in jsdom, as a Teams web client would.
// stdin: a JSON array of cards. stdout: a JSON array, one result a card: what the library said while
// parsing (events), what it found invalid (failures), and what the rendered card shows (its text, its
// inputs' ids and kinds, its buttons' titles, including those inside Action.ShowCard forms).
import { createRequire } from "node:module";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
// The library reaches for the browser's globals (document, HTMLButtonElement, ...): jsdom's window's.
globalThis.window = dom.window;
for (const name of Object.getOwnPropertyNames(dom.window)) {
  if (!(name in globalThis) && /^(document|navigator|getComputedStyle|Node|Event|[A-Z]\w*Element)$/.test(name)) {
    Object.defineProperty(globalThis, name, { value: dom.window[name], configurable: true });
  }
}
// jsdom has no innerText, which the library sets a TextBlock's text with.
Object.defineProperty(dom.window.HTMLElement.prototype, "innerText", {
  get() { return this.textContent; },
  set(value) { this.textContent = value; },
  configurable: true,
});
// It logs to the console (e.g. that markdown is off); stdout is for the results only.
console.log = console.info = console.warn = (...args) => process.stderr.write(args.join(" ") + "\n");
// The library's CommonJS build (its "lib" modules are not importable as ES modules).
const AC = createRequire(import.meta.url)("adaptivecards/dist/adaptivecards.js");

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const json of JSON.parse(input)) {
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext();
  card.parse(json, context);
  const events = [];
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    events.push(`${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  const failures = [];
  for (const e of card.validateProperties().validationEvents) {
    failures.push(`${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  const element = card.render();
  document.body.replaceChildren(element);
  const inputs = card.getAllInputs(true).map((i) => `${i.getJsonTypeName()}#${i.id}`);
  const actions = [];
  const walk = (c) => {
    for (let i = 0; i < c.getActionCount(); i++) {
      const a = c.getActionAt(i);
      actions.push(a.title);
      if (a.card) walk(a.card);
    }
  };
  walk(card);
  results.push({ events, failures, text: element ? element.textContent : "", inputs, actions, rendered: !!element });
}
process.stdout.write(JSON.stringify(results));
