// The Porter stemmer as NLTK implements it (nltk.stem.porter), in its three modes. rouge-score
// builds `PorterStemmer()` — NLTK's default mode, NLTK_EXTENSIONS — so that is the default here;
// ORIGINAL_ALGORITHM follows the 1980 paper exactly and MARTIN_EXTENSIONS Porter's own published
// implementations. Rules and their order mirror NLTK so stems agree word for word.

export type PorterMode = 'NLTK_EXTENSIONS' | 'MARTIN_EXTENSIONS' | 'ORIGINAL_ALGORITHM';

type Condition = ((stem: string) => boolean) | null;
type Rule = [suffix: string, replacement: string, condition: Condition];

const IRREGULAR_FORMS: Record<string, string[]> = {
  sky: ['sky', 'skies'],
  die: ['dying'],
  lie: ['lying'],
  tie: ['tying'],
  news: ['news'],
  inning: ['innings', 'inning'],
  outing: ['outings', 'outing'],
  canning: ['cannings', 'canning'],
  howe: ['howe'],
  proceed: ['proceed'],
  exceed: ['exceed'],
  succeed: ['succeed'],
};

const VOWELS = new Set(['a', 'e', 'i', 'o', 'u']);

export class PorterStemmer {
  readonly mode: PorterMode;
  private readonly pool = new Map<string, string>();
  private readonly cache = new Map<string, string>();

  constructor(mode: PorterMode = 'NLTK_EXTENSIONS') {
    this.mode = mode;
    if (mode === 'NLTK_EXTENSIONS') {
      for (const [stem, forms] of Object.entries(IRREGULAR_FORMS)) for (const f of forms) this.pool.set(f, stem);
    }
  }

  stem(word: string): string {
    const cached = this.cache.get(word);
    if (cached !== undefined) return cached;
    const result = this.stemUncached(word);
    // Text has a small vocabulary relative to its length: memoising makes stemming nearly free.
    if (this.cache.size < 100_000) this.cache.set(word, result);
    return result;
  }

  private stemUncached(word: string): string {
    let stem = word.toLowerCase();
    if (this.mode === 'NLTK_EXTENSIONS') {
      const irregular = this.pool.get(word);
      if (irregular !== undefined) return irregular;
    }
    if (this.mode !== 'ORIGINAL_ALGORITHM' && word.length <= 2) return stem;
    stem = this.step1a(stem);
    stem = this.step1b(stem);
    stem = this.step1c(stem);
    stem = this.step2(stem);
    stem = this.step3(stem);
    stem = this.step4(stem);
    stem = this.step5a(stem);
    stem = this.step5b(stem);
    return stem;
  }

  private isConsonant(word: string, i: number): boolean {
    const ch = word[i]!;
    if (VOWELS.has(ch)) return false;
    if (ch === 'y') return i === 0 ? true : !this.isConsonant(word, i - 1);
    return true;
  }

  /** m in [C](VC){m}[V]. */
  private measure(stem: string): number {
    let m = 0;
    let previousWasVowel = false;
    for (let i = 0; i < stem.length; i++) {
      const consonant = this.isConsonant(stem, i);
      if (consonant && previousWasVowel) m++;
      previousWasVowel = !consonant;
    }
    return m;
  }

  private readonly positiveMeasure = (stem: string) => this.measure(stem) > 0;

  private containsVowel(stem: string): boolean {
    for (let i = 0; i < stem.length; i++) if (!this.isConsonant(stem, i)) return true;
    return false;
  }

  private endsDoubleConsonant(word: string): boolean {
    const n = word.length;
    return n >= 2 && word[n - 1] === word[n - 2] && this.isConsonant(word, n - 1);
  }

  /** *o: ends consonant-vowel-consonant, the last not w, x or y. */
  private endsCvc(word: string): boolean {
    const n = word.length;
    return (
      (n >= 3 &&
        this.isConsonant(word, n - 3) &&
        !this.isConsonant(word, n - 2) &&
        this.isConsonant(word, n - 1) &&
        !['w', 'x', 'y'].includes(word[n - 1]!)) ||
      (this.mode === 'NLTK_EXTENSIONS' && n === 2 && !this.isConsonant(word, 0) && this.isConsonant(word, 1))
    );
  }

  /** The first rule whose suffix matches decides, whether or not its condition holds. */
  private applyRules(word: string, rules: readonly Rule[]): string {
    for (const [suffix, replacement, condition] of rules) {
      if (suffix === '*d' && this.endsDoubleConsonant(word)) {
        const stem = word.slice(0, -2);
        return condition === null || condition(stem) ? stem + replacement : word;
      }
      if (word.endsWith(suffix)) {
        const stem = suffix === '' ? word : word.slice(0, -suffix.length);
        return condition === null || condition(stem) ? stem + replacement : word;
      }
    }
    return word;
  }

  private step1a(word: string): string {
    if (this.mode === 'NLTK_EXTENSIONS' && word.endsWith('ies') && word.length === 4) return word.slice(0, -3) + 'ie';
    return this.applyRules(word, [
      ['sses', 'ss', null],
      ['ies', 'i', null],
      ['ss', 'ss', null],
      ['s', '', null],
    ]);
  }

  private step1b(word: string): string {
    if (this.mode === 'NLTK_EXTENSIONS' && word.endsWith('ied')) {
      return word.slice(0, -3) + (word.length === 4 ? 'ie' : 'i');
    }
    if (word.endsWith('eed')) {
      const stem = word.slice(0, -3);
      return this.measure(stem) > 0 ? stem + 'ee' : word;
    }
    let intermediate: string | undefined;
    for (const suffix of ['ed', 'ing']) {
      if (word.endsWith(suffix)) {
        const candidate = word.slice(0, -suffix.length);
        if (this.containsVowel(candidate)) {
          intermediate = candidate;
          break;
        }
      }
    }
    if (intermediate === undefined) return word;
    const s = intermediate;
    const last = s[s.length - 1] ?? '';
    return this.applyRules(s, [
      ['at', 'ate', null],
      ['bl', 'ble', null],
      ['iz', 'ize', null],
      ['*d', last, () => !['l', 's', 'z'].includes(last)],
      ['', 'e', (stem) => this.measure(stem) === 1 && this.endsCvc(stem)],
    ]);
  }

  private step1c(word: string): string {
    const condition =
      this.mode === 'NLTK_EXTENSIONS'
        ? (stem: string) => stem.length > 1 && this.isConsonant(stem, stem.length - 1)
        : (stem: string) => this.containsVowel(stem);
    return this.applyRules(word, [['y', 'i', condition]]);
  }

  private step2(word: string): string {
    const pm = this.positiveMeasure;
    if (this.mode === 'NLTK_EXTENSIONS' && word.endsWith('alli') && pm(word.slice(0, -4))) {
      return this.step2(word.slice(0, -4) + 'al');
    }
    const rules: Rule[] = [
      ['ational', 'ate', pm],
      ['tional', 'tion', pm],
      ['enci', 'ence', pm],
      ['anci', 'ance', pm],
      ['izer', 'ize', pm],
      this.mode === 'ORIGINAL_ALGORITHM' ? ['abli', 'able', pm] : ['bli', 'ble', pm],
      ['alli', 'al', pm],
      ['entli', 'ent', pm],
      ['eli', 'e', pm],
      ['ousli', 'ous', pm],
      ['ization', 'ize', pm],
      ['ation', 'ate', pm],
      ['ator', 'ate', pm],
      ['alism', 'al', pm],
      ['iveness', 'ive', pm],
      ['fulness', 'ful', pm],
      ['ousness', 'ous', pm],
      ['aliti', 'al', pm],
      ['iviti', 'ive', pm],
      ['biliti', 'ble', pm],
    ];
    if (this.mode === 'NLTK_EXTENSIONS') {
      rules.push(['fulli', 'ful', pm]);
      // NLTK tests the measure of the word minus "ogi", not of the stem minus "logi".
      rules.push(['logi', 'log', () => pm(word.slice(0, -3))]);
    }
    if (this.mode === 'MARTIN_EXTENSIONS') rules.push(['logi', 'log', pm]);
    return this.applyRules(word, rules);
  }

  private step3(word: string): string {
    const pm = this.positiveMeasure;
    return this.applyRules(word, [
      ['icate', 'ic', pm],
      ['ative', '', pm],
      ['alize', 'al', pm],
      ['iciti', 'ic', pm],
      ['ical', 'ic', pm],
      ['ful', '', pm],
      ['ness', '', pm],
    ]);
  }

  private step4(word: string): string {
    const gt1 = (stem: string) => this.measure(stem) > 1;
    return this.applyRules(word, [
      ['al', '', gt1],
      ['ance', '', gt1],
      ['ence', '', gt1],
      ['er', '', gt1],
      ['ic', '', gt1],
      ['able', '', gt1],
      ['ible', '', gt1],
      ['ant', '', gt1],
      ['ement', '', gt1],
      ['ment', '', gt1],
      ['ent', '', gt1],
      ['ion', '', (stem) => this.measure(stem) > 1 && (stem.endsWith('s') || stem.endsWith('t'))],
      ['ou', '', gt1],
      ['ism', '', gt1],
      ['ate', '', gt1],
      ['iti', '', gt1],
      ['ous', '', gt1],
      ['ive', '', gt1],
      ['ize', '', gt1],
    ]);
  }

  private step5a(word: string): string {
    if (word.endsWith('e')) {
      const stem = word.slice(0, -1);
      const m = this.measure(stem);
      if (m > 1) return stem;
      if (m === 1 && !this.endsCvc(stem)) return stem;
    }
    return word;
  }

  private step5b(word: string): string {
    return this.applyRules(word, [['ll', 'l', () => this.measure(word.slice(0, -1)) > 1]]);
  }
}
