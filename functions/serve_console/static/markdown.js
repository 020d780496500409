// A deliberately tiny Markdown subset, rendered by building DOM nodes: text only ever becomes Text nodes, never HTML,
// so nothing a ticket or a comment says can run (the page's CSP forbids HTML sinks on top: Trusted Types, 'none').
//
// Blocks: paragraphs (blank lines), line breaks, "- " / "* " / "1. " lists, "> " quotes, ``` code blocks.
// Inline: `code`, **bold**, *italic* and _italic_, [text](https://...) and bare http(s) URLs as links.
// Links go to http:, https: or mailto: only (anything else stays text), in a new tab, without a referrer.

const MAX_QUOTE_DEPTH = 3;
const MAX_INLINE_DEPTH = 3;
const FENCE = /^\s{0,3}```[\w+-]{0,20}\s*$/; // a fence line holds a language name at most: nothing else is hidden
const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
const NUMBERED = /^\s{0,3}\d{1,9}[.)]\s+(.*)$/;
const QUOTE = /^\s{0,3}>/;
const BLANK = /^\s*$/;
const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

// Inline patterns, tried at each position (sticky). Bounded repetitions keep every attempt short, whatever the input.
const INLINE = [
  ["code", /`([^`\n]{1,2000})`/y],
  ["strong", /\*\*(?=[^\s*])([^\n]{0,1000}?[^\s*])\*\*/y],
  ["em", /\*(?=[^\s*])([^\n*]{0,1000}?[^\s*])\*(?!\*)/y],
  ["em", /_(?=[^\s_])([^\n_]{0,1000}?[^\s_])_(?![\p{L}\p{N}_])/uy],
  ["link", /\[([^\]\n]{1,500})\]\(\s*([^()\s]{1,2000})\s*\)/y],
  ["url", /(?:https?:\/\/)[^\s<>"'`]{1,2000}?(?=[.,;:!?)\]]*(?:[\s<>"'`]|$))/y],
];
const STARTS = new Set(["`", "*", "_", "[", "h"]);

function isBlockStart(line, quoteDepth) {
  return FENCE.test(line) || BULLET.test(line) || NUMBERED.test(line) || (quoteDepth < MAX_QUOTE_DEPTH && QUOTE.test(line));
}

function safeHref(raw) {
  try {
    const url = new URL(raw);
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

function link(doc, href, text) {
  const a = doc.createElement("a");
  a.href = href;
  a.textContent = text;
  a.rel = "noopener noreferrer nofollow";
  a.target = "_blank";
  return a;
}

function inline(doc, parent, text, depth = 0) {
  let plain = "";
  const flush = () => {
    if (plain) parent.append(plain); // a string becomes a Text node
    plain = "";
  };
  let i = 0;
  outer: while (i < text.length) {
    const ch = text[i];
    if (STARTS.has(ch)) {
      for (const [kind, pattern] of INLINE) {
        if (kind === "em" && ch === "_" && i > 0 && /[\p{L}\p{N}_]/u.test(text[i - 1])) continue; // snake_case stays
        if (kind === "url" && ch !== "h") continue;
        pattern.lastIndex = i;
        const m = pattern.exec(text);
        if (!m) continue;
        let node = null;
        if (kind === "code") {
          node = doc.createElement("code");
          node.textContent = m[1];
        } else if (kind === "strong" || kind === "em") {
          node = doc.createElement(kind);
          if (depth < MAX_INLINE_DEPTH) inline(doc, node, m[1], depth + 1);
          else node.textContent = m[1];
        } else if (kind === "link") {
          const href = safeHref(m[2]);
          if (href) node = link(doc, href, m[1]);
        } else if (kind === "url") {
          const href = safeHref(m[0]);
          if (href) node = link(doc, href, m[0]);
        }
        if (!node) continue;
        flush();
        parent.append(node);
        i += m[0].length;
        continue outer;
      }
    }
    plain += ch;
    i += 1;
  }
  flush();
}

function render(doc, text, quoteDepth) {
  const out = doc.createDocumentFragment();
  const lines = text.split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (BLANK.test(line)) {
      i += 1;
    } else if (FENCE.test(line)) {
      const code = [];
      i += 1;
      while (i < lines.length && !FENCE.test(lines[i])) code.push(lines[i++]);
      i += 1; // the closing fence (or the end)
      const pre = doc.createElement("pre");
      const c = doc.createElement("code");
      c.textContent = code.join("\n");
      pre.append(c);
      out.append(pre);
    } else if (BULLET.test(line) || NUMBERED.test(line)) {
      const pattern = BULLET.test(line) ? BULLET : NUMBERED;
      const list = doc.createElement(pattern === BULLET ? "ul" : "ol");
      while (i < lines.length && pattern.test(lines[i])) {
        const li = doc.createElement("li");
        inline(doc, li, lines[i].match(pattern)[1]);
        list.append(li);
        i += 1;
      }
      out.append(list);
    } else if (quoteDepth < MAX_QUOTE_DEPTH && QUOTE.test(line)) {
      const quoted = [];
      while (i < lines.length && QUOTE.test(lines[i])) quoted.push(lines[i++].replace(/^\s{0,3}> ?/, ""));
      const block = doc.createElement("blockquote");
      block.append(render(doc, quoted.join("\n"), quoteDepth + 1));
      out.append(block);
    } else {
      const p = doc.createElement("p");
      let first = true;
      // A paragraph takes at least its first line, so the loop always moves on.
      while (i < lines.length && !BLANK.test(lines[i]) && (first || !isBlockStart(lines[i], quoteDepth))) {
        if (!first) p.append(doc.createElement("br"));
        inline(doc, p, lines[i]);
        first = false;
        i += 1;
      }
      out.append(p);
    }
  }
  return out;
}

/** `text` as a DocumentFragment of the subset above; every character of the input shows as text. */
export function renderMarkdown(text, doc = document) {
  return render(doc, String(text ?? "").replace(/\r\n?/g, "\n"), 0);
}
