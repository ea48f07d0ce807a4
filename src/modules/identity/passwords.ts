import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as english from '@zxcvbn-ts/language-en';

// Trivial and common passwords are refused with zxcvbn-ts: its estimate of the guesses a
// password takes, against lists of common passwords, English words and names, keyboard
// patterns, repeats, sequences, dates and the user's own email and name. All offline.

/** zxcvbn's score 3: about 10^8 guesses or more ("safely unguessable" for a slow hash like ours). */
const MIN_SCORE = 3;

let estimator: ZxcvbnFactory | undefined;

// Built on first use (about 0.1 s), not on import. Only the first 64 characters are scored and
// l33t substitutions are bounded: a long password of symbols would otherwise take half a second
// to score; so a check costs a few milliseconds, 50 at worst.
function zxcvbn(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...english.dictionary },
    graphs: common.adjacencyGraphs,
    translations: english.translations,
    maxLength: 64,
    l33tMaxSubstitutions: 10,
  });
  return estimator;
}

/**
 * Why `password` is too easy to guess, as a field message, or null when it is strong enough.
 * `userInputs`: what an attacker knows of the account (its email, display name).
 */
export function passwordWeakness(password: string, userInputs: string[]): string | null {
  const localPart = userInputs.flatMap((input) => (input.includes('@') ? [input, input.split('@')[0]] : [input]));
  const result = zxcvbn().check(password, [...localPart, 'tertulia']);
  if (result.score >= MIN_SCORE) return null;
  const why = result.feedback.warning ? ` (${result.feedback.warning.replace(/\.$/, '')})` : '';
  return `is too easy to guess${why}; use a longer passphrase, such as four or more unrelated words`;
}
