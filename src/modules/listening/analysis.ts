import { createRequire } from 'node:module';
import { franc } from 'franc';
import type { MentionSentiment } from '../../generated/prisma/enums.js';

// natural's sentiment analyzer is loaded on its own: the package's index also loads its storage
// back-ends (database drivers) that listening has no use for.
type Analyzer = { getSentiment(words: string[]): number };
type AnalyzerClass = new (language: string, stemmer: null, vocabulary: string) => Analyzer;
export type Language = 'en' | 'es';

// AFINN lexicons (scores -5..5 per word, averaged over the words of the text), with each
// language's negations ("not good", "no me gusta"). Loaded on first use, not at start-up.
let analyzers: Record<Language, Analyzer> | undefined;
function analyzer(language: Language): Analyzer {
  if (!analyzers) {
    const SentimentAnalyzer = createRequire(import.meta.url)('natural/lib/natural/sentiment/SentimentAnalyzer.js') as AnalyzerClass;
    analyzers = { en: new SentimentAnalyzer('English', null, 'afinn'), es: new SentimentAnalyzer('Spanish', null, 'afinn') };
  }
  return analyzers[language];
}

// franc's ISO 639-3 codes for the languages analysed, and ours (ISO 639-1).
const LANGUAGES: Record<string, Language> = { eng: 'en', spa: 'es' };

// Function words: trigram statistics alone misjudge short texts, where one Spanish-looking brand
// name ("Tertulia") outweighs "I love it". A vote of these words decides first.
const FUNCTION_WORDS: Record<Language, Set<string>> = {
  en: new Set('the a an and or but is are was were be been it its this that these those i you he she we they my your our their of to in on at for with from by not no do does did have has had will would can very so as if than then there what which who'.split(' ')),
  es: new Set('el la los las un una unos unas y o pero es son era fue ser está están esto esta este ese esa yo tú él ella nosotros ellos mi tu su nuestro de del al a en con por para sin no sí muy más que como cuando donde qué quién también pero porque lo le les se me te nos hay'.split(' ')),
};

/** The language of a text among those analysed, or null when it is too short or something else. */
export function detectLanguage(text: string): Language | null {
  const words = text.toLowerCase().match(/\p{L}+/gu) ?? [];
  const votes = { en: 0, es: 0 };
  for (const word of words) {
    if (FUNCTION_WORDS.en.has(word)) votes.en++;
    if (FUNCTION_WORDS.es.has(word)) votes.es++;
  }
  if (votes.en !== votes.es) return votes.en > votes.es ? 'en' : 'es';
  return LANGUAGES[franc(text, { only: Object.keys(LANGUAGES), minLength: 10 })] ?? null;
}

// A negator's scope is its clause, as usual: punctuation, a line break or a conjunction ends it.
// natural's analyzer keeps a negator in force to the end of the words it is given, so each clause
// is scored on its own ("no contesta. La app es horrible" stays negative).
const CLAUSE_BREAK = /[.,;:!?¡¿…()[\]{}"“”«»—–\n]+/u;
const CONJUNCTIONS: Record<Language, Set<string>> = {
  en: new Set('and but or because although though however whereas'.split(' ')),
  es: new Set('y e o u pero porque aunque sino mientras'.split(' ')),
};

/** The text's words, clause by clause; a conjunction opens its clause. */
function clauses(text: string, language: Language): string[][] {
  const result: string[][] = [];
  for (const segment of text.toLowerCase().replaceAll('’', "'").split(CLAUSE_BREAK)) {
    let clause: string[] = [];
    for (const token of segment.match(/[\p{L}\p{N}']+/gu) ?? []) {
      // natural's English negators are whole words (not, no, never...): "don't" is one too.
      const word = language === 'en' && token.endsWith("n't") ? 'not' : token;
      if (clause.length && CONJUNCTIONS[language].has(word)) {
        result.push(clause);
        clause = [];
      }
      clause.push(word);
    }
    if (clause.length) result.push(clause);
  }
  return result;
}

/** Averages under this size, either way, are neutral: one mild word in a long text says little. */
const NEUTRAL_BAND = 0.05;

type Sentiment = { score: number; label: MentionSentiment };

/** Sentiment in the text's language (English lexicon when it is undetermined). */
export function analyzeSentiment(text: string, language: Language | null): Sentiment {
  const lang = language ?? 'en';
  let sum = 0;
  let words = 0;
  for (const clause of clauses(text, lang)) {
    // getSentiment averages over the clause's words: back to a sum, averaged over the whole text.
    sum += analyzer(lang).getSentiment(clause) * clause.length;
    words += clause.length;
  }
  const score = words ? Math.round((sum / words) * 1000) / 1000 : 0;
  const label: MentionSentiment = score > NEUTRAL_BAND ? 'POSITIVE' : score < -NEUTRAL_BAND ? 'NEGATIVE' : 'NEUTRAL';
  return { score, label };
}
