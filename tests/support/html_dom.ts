// Reads an HTML document the way a browser builds it, with parse5 (the WHATWG parser jsdom uses):
// elements by tag or id, attributes and text, for tests of the server's web page and of the DOM
// headless Chromium leaves.
import { type DefaultTreeAdapterMap, parse } from "parse5";

/** A node of the parsed document. */
export type HtmlNode = DefaultTreeAdapterMap["node"];
/** An element of the parsed document. */
export type HtmlElement = DefaultTreeAdapterMap["element"];

/** Parses `html` into a document. */
export function parseHtml(html: string): HtmlNode {
  return parse(html);
}

/** Every node under `node`, `node` first, template contents included. */
export function* walk(node: HtmlNode): Generator<HtmlNode> {
  yield node;
  const children = "childNodes" in node ? node.childNodes : [];
  for (const child of children) yield* walk(child);
  if (node.nodeName === "template") {
    yield* walk((node as HtmlElement & { content: HtmlNode }).content);
  }
}

/** The elements named `tag` under `root`. */
export function elements(root: HtmlNode, tag: string): HtmlElement[] {
  return [...walk(root)].filter((n): n is HtmlElement => "tagName" in n && n.tagName === tag);
}

/** The value of attribute `name`, or undefined. */
export function attr(element: HtmlElement, name: string): string | undefined {
  return element.attrs.find((a) => a.name === name)?.value;
}

/** The element with id `id` under `root`, or undefined. */
export function byId(root: HtmlNode, id: string): HtmlElement | undefined {
  return [...walk(root)].find((n): n is HtmlElement => "tagName" in n && attr(n, "id") === id);
}

/** The text content of `node`. */
export function text(node: HtmlNode): string {
  if (node.nodeName === "#text") return (node as DefaultTreeAdapterMap["textNode"]).value;
  return ("childNodes" in node ? node.childNodes : []).map(text).join("");
}
