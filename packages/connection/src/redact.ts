// Credentials must never reach a log line, an error message or health(): URLs are
// shown with the password replaced, and error texts are scrubbed of every password.

const MASK = '***'
// '//' then everything up to the last '@' (greedy): the userinfo of a URL that new URL() refused.
const UNPARSED_CREDENTIALS = /\/\/(.*)@/s

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = MASK
    return parsed.toString()
  } catch {
    // Unparseable: the credentials may hold any character ('/' included), so everything between
    // '//' and the last '@' is masked, the user name too.
    return url.replace(UNPARSED_CREDENTIALS, `//${MASK}@`)
  }
}

export function passwordsOf(urls: readonly string[]): string[] {
  const secrets: string[] = []
  for (const url of urls) {
    try {
      const { password } = new URL(url)
      if (password) secrets.push(password, decoded(password))
    } catch {
      // As redactUrl reads it: the password runs from the first ':' after '//' to the last '@'.
      const password = UNPARSED_CREDENTIALS.exec(url)?.[1]?.split(':').slice(1).join(':')
      if (password) secrets.push(password)
    }
  }
  return [...new Set(secrets)].filter((s) => s.length > 0)
}

/** A malformed escape ('%zz') passes new URL(): keep it as written rather than throw. */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

export function scrub(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) out = out.split(secret).join(MASK)
  return out
}

/** Copies an error into a plain, password-free summary fit for logs and health(). */
export function describeError(err: unknown, secrets: readonly string[]): string {
  const message = err instanceof Error ? err.message : String(err)
  return scrub(message, secrets)
}
