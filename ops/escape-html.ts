const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text made safe for HTML and inline SVG, in element content and in quoted attribute values.
 * Every string from the run (labels, URIs, error messages, the run id) goes through this: they
 * come from user data, and a file named `<img onerror=...>.jpg` must stay text.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char]!);
}
