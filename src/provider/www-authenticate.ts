/** One challenge of a WWW-Authenticate header (RFC 9110 §11.6.1): the scheme as sent, param names lower-cased. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
  token68?: string;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*/y;
const QUOTED = /"((?:[\t \x21\x23-\x5B\x5D-\x7E\x80-\uFFFF]|\\[\t \x21-\x7E\x80-\uFFFF])*)"/y;
const OWS = /[ \t]*/y;
const SP = / +/y;

/**
 * Parses a WWW-Authenticate value: several challenges, each with a token68 or auth-params whose
 * values are tokens or quoted strings (commas and escapes inside quotes are data). Parsing stops
 * at the first syntax error and keeps the challenges before it.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let i = 0;
  const match = (re: RegExp) => {
    re.lastIndex = i;
    const found = re.exec(header);
    if (found) i = re.lastIndex;
    return found;
  };
  const atEnd = () => (match(OWS), i >= header.length || header[i] === ',');
  /** name BWS "=" BWS ( token / quoted-string ); nothing consumed when it is not one. */
  const param = (): [string, string] | undefined => {
    const start = i;
    const name = match(TOKEN);
    if (name && (match(OWS), header[i] === '=')) {
      i++;
      match(OWS);
      const quoted = match(QUOTED);
      if (quoted) return [name[0].toLowerCase(), quoted[1]!.replace(/\\(.)/g, '$1')];
      const token = match(TOKEN);
      if (token) return [name[0].toLowerCase(), token[0]];
    }
    i = start;
    return undefined;
  };

  for (;;) {
    while (match(OWS), header[i] === ',') i++; // empty list elements are allowed
    if (i >= header.length) return challenges;
    const scheme = match(TOKEN);
    if (!scheme) return challenges;
    const challenge: AuthChallenge = { scheme: scheme[0], params: Object.create(null) as Record<string, string> };
    if (match(SP) && !atEnd()) {
      const first = param();
      if (first) {
        let next: [string, string] | undefined = first;
        while (next) {
          challenge.params[next[0]] ??= next[1]; // a repeated name (invalid) keeps its first value
          if (!atEnd()) return challenges;
          if (header[i] !== ',') break;
          i++;
          while (match(OWS), header[i] === ',') i++;
          next = param(); // not a param: the next challenge starts here
        }
      } else {
        const token68 = match(TOKEN68);
        if (!token68 || !atEnd()) return challenges;
        challenge.token68 = token68[0];
      }
    } else if (!atEnd()) return challenges;
    challenges.push(challenge);
  }
}
