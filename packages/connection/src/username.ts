/**
 * The user name amqplib logs in with for this URL: `guest` when the URL has neither user nor
 * password, else the user part decoded as amqplib decodes it (`unescape`), which is what the
 * broker compares a message's `userId` with.
 */
export function usernameOf(url: string): string {
  const { username, password } = new URL(url)
  if (username === '' && password === '') return 'guest'
  return unescape(username)
}
