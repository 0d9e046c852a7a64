// Credentials must never reach a log line, an error message or health(): URLs are
// shown with the password replaced, and error texts are scrubbed of every password.

const MASK = '***'

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = MASK
    return parsed.toString()
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, `//$1:${MASK}@`)
  }
}

export function passwordsOf(urls: readonly string[]): string[] {
  const secrets: string[] = []
  for (const url of urls) {
    try {
      const { password } = new URL(url)
      if (password) secrets.push(password, decodeURIComponent(password))
    } catch {
      const match = /\/\/[^:@/]*:([^@/]*)@/.exec(url)
      if (match?.[1]) secrets.push(match[1])
    }
  }
  return [...new Set(secrets)].filter((s) => s.length > 0)
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
