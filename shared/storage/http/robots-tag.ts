/**
 * The opt-out a site owner can send with an image: `X-Robots-Tag: noai` or `noimageai`, read as
 * img2dataset reads it. A header value is a comma-separated list of directives, optionally
 * addressed to one crawler (`otherbot: noai`); directives addressed to another crawler than ours
 * do not apply. Only the AI opt-outs count: `noindex` is about search engines, which this is not.
 */

/** The token a header may address this project by (its User-Agent product, http-config.ts). */
export const ROBOTS_TOKEN = 'resnet-batch';

const OPT_OUTS: ReadonlySet<string> = new Set(['noai', 'noimageai']);

/** The opt-out directive found in the X-Robots-Tag header value(s), or null when there is none for us. */
export function optOutDirective(header: string | string[] | undefined): string | null {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  for (const value of values) {
    const colon = value.indexOf(':');
    const token = colon === -1 ? null : value.slice(0, colon).trim().toLowerCase();
    // A directive list may itself hold 'unavailable_after: <date>'; a token is one word before the first ':'.
    const addressed = token !== null && /^[a-z0-9_-]+$/.test(token) && !OPT_OUTS.has(token);
    if (addressed && token !== ROBOTS_TOKEN) continue;
    const directives = (addressed ? value.slice(colon + 1) : value).split(',').map((d) => d.trim().toLowerCase());
    const found = directives.find((directive) => OPT_OUTS.has(directive));
    if (found !== undefined) return found;
  }
  return null;
}
