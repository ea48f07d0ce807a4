// The mentions bench/listening-ingest.ts sends: a deterministic corpus (the same seed gives the same
// mentions, byte for byte) that looks like what a listening tool pushes. English and Spanish,
// positive, negative and neutral, 100 to 600 characters, about 70% naming one or two of the tracked
// brands (some with accents or in capitals), some with an exclusion phrase that must not count,
// some without a brand at all, links in the text, a title on most.

export type CorpusMention = { externalId: string; url: string; title?: string; body: string; author: string; publishedAt: string };

/** The brands the corpus talks about, as the benchmark creates them through the API. */
export const CORPUS_BRANDS = [
  { name: 'Tertulia', kind: 'OWN', keywords: ['tertulia', 'tertulia app'], exclusionKeywords: ['tertulia literaria', 'tertulia flamenca'] },
  { name: 'Zulip', kind: 'COMPETITOR', keywords: ['zulip'], exclusionKeywords: [] },
  { name: 'Discourse', kind: 'COMPETITOR', keywords: ['discourse forum', 'discourse'], exclusionKeywords: ['public discourse', 'political discourse'] },
] as const;

type Tone = 'positive' | 'negative' | 'neutral';
type Phrases = Record<Tone, string[]> & { brandNames: string[]; excluded: string[]; unbranded: string[] };

// {b} is a brand name as people write it.
const EN: Phrases = {
  brandNames: ['Tertulia', 'tertulia', 'TERTULIA', 'Tertulia app', 'Zulip', 'zulip', 'Discourse', 'the Discourse forum'],
  positive: [
    'I love how {b} keeps our community in one place.',
    '{b} is amazing, the new moderation queue saves us hours every week.',
    'Great support from the {b} team today, thank you!',
    'Switched to {b} last month and the members are happy.',
    'The live threads in {b} are fantastic for our launch events.',
    'Honestly {b} is the best tool we have tried, clean and fast.',
    'Kudos to {b} for fixing that bug so quickly.',
  ],
  negative: [
    '{b} crashed again during our event, this is terrible.',
    'I hate that {b} still has no proper export, so frustrating.',
    'The {b} search is broken and support never answers.',
    'Really disappointed with {b}, we lost a week of replies.',
    '{b} is slow and buggy since the last update, awful.',
    'Worst onboarding ever, {b} made our members angry.',
    'We are thinking of leaving {b}, the pricing is a scam.',
  ],
  neutral: [
    'Has anyone compared {b} with other community tools?',
    'Our team moved the support forum to {b} on Monday.',
    'Looking for a {b} integration with our helpdesk.',
    'The {b} release notes mention a new API version.',
    'We will present how we use {b} at the meetup next week.',
    'Which plan of {b} includes single sign-on?',
  ],
  excluded: [
    'The public discourse around the election was heated.',
    'A paper on political discourse in online spaces.',
  ],
  unbranded: [
    'Anyone else watching the game tonight?',
    'New blog post on how we run our weekly community calls.',
    'The coffee at the conference was surprisingly good.',
    'Our support queue doubled after the holidays.',
    'Thinking about moving our newsletter to another provider.',
  ],
};

const ES: Phrases = {
  brandNames: ['Tertulia', 'tertulia', 'Tertúlia', 'TERTÚLIA', 'la app de Tertulia', 'Zulip', 'Discourse'],
  positive: [
    'Me encanta cómo {b} organiza nuestra comunidad, es excelente.',
    '{b} es genial, la nueva cola de moderación nos ahorra horas.',
    'Muy buena atención del equipo de {b}, gracias por la ayuda.',
    'Cambiamos a {b} el mes pasado y los miembros están felices.',
    'Los hilos en directo de {b} son fantásticos para nuestros eventos.',
    'Sinceramente {b} es la mejor herramienta que hemos probado.',
  ],
  negative: [
    '{b} se cayó otra vez durante el evento, es terrible.',
    'Odio que {b} todavía no tenga exportación, qué frustración.',
    'La búsqueda de {b} no funciona y el soporte nunca responde.',
    'Muy decepcionado con {b}, perdimos una semana de respuestas.',
    '{b} es lento y tiene errores desde la última actualización, horrible.',
    'Estamos pensando en dejar {b}, el precio es un robo.',
  ],
  neutral: [
    '¿Alguien ha comparado {b} con otras herramientas para comunidades?',
    'Nuestro equipo movió el foro de soporte a {b} el lunes.',
    'Buscamos una integración de {b} con nuestro sistema de tickets.',
    'Las notas de la versión de {b} hablan de una nueva API.',
    'La semana que viene contaremos cómo usamos {b} en el encuentro.',
  ],
  excluded: [
    'Esta noche hay tertulia literaria en la biblioteca del barrio.',
    'El sábado celebramos una tertulia flamenca con amigos.',
  ],
  unbranded: [
    '¿Alguien más va a ver el partido esta noche?',
    'Nuevo artículo en el blog sobre nuestras llamadas semanales.',
    'El café del congreso estaba sorprendentemente bueno.',
    'La cola de soporte se duplicó después de las vacaciones.',
    'Pensamos mover el boletín a otro proveedor.',
  ],
};

const TITLES = {
  en: ['Thoughts on our community stack', 'Quick question', 'Weekly update', 'Support experience', 'Launch day notes'],
  es: ['Opinión sobre nuestra comunidad', 'Pregunta rápida', 'Resumen semanal', 'Experiencia con el soporte', 'Notas del lanzamiento'],
};

/** mulberry32: a small, fast, seeded generator, so the corpus is the same in every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` mentions, ids `m-000001`..., published over the week before 2026-11-01. */
export function makeCorpus(count: number, seed = 6): CorpusMention[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const mentions: CorpusMention[] = [];
  const start = Date.UTC(2026, 9, 25);
  for (let i = 1; i <= count; i++) {
    const spanish = next() < 0.4;
    const phrases = spanish ? ES : EN;
    const tone: Tone = pick(['positive', 'negative', 'neutral', 'neutral'] as const);
    const branded = next() < 0.7;
    const target = 100 + Math.floor(next() * 500);
    const sentences: string[] = [];
    if (next() < 0.08) sentences.push(pick(phrases.excluded));
    if (branded) sentences.push(pick(phrases[tone]).replace('{b}', pick(phrases.brandNames)));
    // Then sentences of the same tone (or plain ones) until the text is long enough.
    for (;;) {
      const sentence = next() < 0.5 ? pick(phrases.unbranded) : branded ? pick(phrases[tone]).replace('{b}', pick(phrases.brandNames)) : pick(phrases.unbranded);
      if (sentences.join(' ').length + sentence.length + 1 > target && sentences.join(' ').length >= 100) break;
      sentences.push(sentence);
    }
    if (next() < 0.3) sentences.splice(Math.floor(next() * sentences.length), 0, `https://blog.example.org/${spanish ? 'es' : 'en'}/posts/${i}`);
    let body = sentences.join(' ');
    if (body.length > 600) body = body.slice(0, 600).replace(/\s+\S*$/, '');
    const id = String(i).padStart(6, '0');
    mentions.push({
      externalId: `m-${id}`,
      url: `https://social.example.com/@user${i % 997}/${id}`,
      ...(next() < 0.6 && { title: pick(TITLES[spanish ? 'es' : 'en']) }),
      body,
      author: `user${i % 997}`,
      publishedAt: new Date(start + Math.floor(next() * 7 * 86_400_000)).toISOString(),
    });
  }
  return mentions;
}
