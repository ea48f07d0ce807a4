// Text matching shared by the domains that look for words in what people write (brand keywords,
// alert terms, automod keywords): case- and accent-insensitive, whole words only.

/** Lower-case, without accents or other combining marks: "Café Über" -> "cafe uber". */
export function foldText(text: string): string {
  return text.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase();
}

/** The words of a text, folded: "Café  FREE!" -> ["cafe", "free"]. */
export function foldedWords(text: string): string[] {
  return foldText(text).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A test for any of `terms` as whole words of a text folded with `foldText`: "app" matches
 * "the app crashed" but not "apple", and "tertulia pro" matches across any run of spaces.
 * Returns null when there is no term to look for.
 */
export function wholeWordMatcher(terms: readonly string[]): ((folded: string) => boolean) | null {
  const parts = [...new Set(terms.map((term) => foldText(term).trim()).filter(Boolean))].map((term) =>
    term.split(/\s+/).map(escapeRegExp).join('\\s+'),
  );
  if (parts.length === 0) return null;
  // Letters and digits of any script make a word; anything else separates words.
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${parts.join('|')})(?![\\p{L}\\p{N}])`, 'u');
  return (folded) => pattern.test(folded);
}
