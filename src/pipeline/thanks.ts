/**
 * Whether a customer's reply says nothing but thanks ("Thanks, that worked!", "¡Mil gracias,
 * ya funciona!"), so a resolved ticket can stay resolved instead of reopening.
 *
 * Deliberately strict, because a miss costs little (the ticket reopens, as any reply did
 * before) and a false "only thanks" hides a problem the customer still has: the reply must
 * contain a word of thanks, ask nothing (no `?`), be short, and every other word must come
 * from a small list of words people close with (praise, "it works now", "you can close
 * it", a greeting, a sign-off). "but", "still", "not", "pero", "sigue", "no" and every word
 * about a problem are not on it, so "thanks, but it still fails" reopens. A last line of one
 * to three capitalised words is taken as the sender's name. A word list rather than a
 * classifier: the test list in test/unit/thanks.test.ts says how it does, and each word on
 * the list can be read and argued about.
 */
export function onlyThanks(text: string): boolean {
  if (/[?¿]/.test(text)) return false;
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length > 1 && /^(\p{Lu}[\p{L}'.-]*)(\s+\p{Lu}[\p{L}'.-]*){0,2}$/u.test(lines.at(-1) ?? '')) lines.pop();
  const plain = lines.join(' ').normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  const words = PARTING.reduce((t, re) => t.replace(re, ' '), plain).match(/\p{L}+/gu);
  if (!words || words.length > MAX_WORDS) return false;
  // "problem"/"issue" only as in "problem solved": "thanks, I have a problem" is not thanks.
  if (words.some((w) => TROUBLE.has(w)) && !words.some((w) => SOLVED.has(w))) return false;
  return words.some((w) => THANKS.has(w)) && words.every((w) => THANKS.has(w) || CLOSING.has(w) || TROUBLE.has(w) || SOLVED.has(w));
}

/** Wishes taken out whole: their words ("day") must not make "it worked for a day" thanks. */
const PARTING = [/\bhave an? (nice|good|great|lovely) (day|weekend|evening)\b/g, /\b(que )?(tengas?|tengais|tengan) (un )?buen (dia|fin de semana)\b/g, /\b(buen|feliz) (dia|fin de semana)\b/g];

/** Words about a problem: allowed only beside one that says it is solved. */
const TROUBLE = new Set(['problem', 'issue', 'problema', 'incidencia']);
const SOLVED = new Set(['sorted', 'solved', 'fixed', 'resolved', 'solucionado', 'solucionada', 'resuelto', 'resuelta', 'arreglado', 'arreglada']);

/** Longer than this is saying more than thanks. */
const MAX_WORDS = 25;

/** Words of thanks, accents removed. */
const THANKS = new Set(['thanks', 'thank', 'thx', 'thanx', 'ty', 'tks', 'cheers', 'appreciated', 'gracias', 'agradezco', 'agradecido', 'agradecida', 'agradecemos']);

/** What people write around their thanks when all is well, in en and es, accents removed. */
const CLOSING = new Set(
  [
    // en
    'you', 'so', 'very', 'much', 'many', 'a', 'lot', 'lots', 'again', 'for', 'your', 'the', 'all', 'help', 'support', 'quick', 'fast', 'prompt', 'response', 'reply', 'answer',
    'great', 'perfect', 'awesome', 'brilliant', 'excellent', 'wonderful', 'fantastic', 'amazing', 'super', 'nice', 'good', 'cool', 'ok', 'okay', 'oh', 'wow', 'yes', 'yep', 'really', 'truly',
    'working', 'works', 'worked', 'now', 'it', 'that', 'this', 'did', 'does', 'trick', 'everything', 'is', 'fine', 'well', 'as', 'expected',
    'received', 'got', 'can', 'close', 'ticket', 'regards', 'best', 'kind', 'warm', 'and', 'indeed', 'i', 'we', 'us', 'me', 'hi', 'hello', 'dear', 'team',
    // es
    'muchas', 'muchisimas', 'mil', 'un', 'una', 'por', 'la', 'el', 'los', 'tu', 'su', 'vuestra', 'vuestro', 'ayuda', 'respuesta', 'rapida', 'rapido', 'rapidez', 'atencion', 'soporte',
    'perfecto', 'perfecta', 'perfectamente', 'genial', 'estupendo', 'excelente', 'fenomenal', 'buenisimo', 'vale', 'listo', 'todo', 'bien', 'ya', 'funciona', 'funcionando',
    'esta', 'recibido', 'pueden', 'puedes', 'podeis', 'cerrar', 'saludos', 'saludo', 'cordial', 'cordiales', 'atentamente', 'de', 'nuevo', 'y', 'muy', 'hola', 'equipo', 'os', 'te', 'le', 'les', 'lo', 'ahora', 'mucho',
  ],
);
