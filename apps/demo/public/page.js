// The live page: state from GET /live/events (server-sent events), orders posted to POST /orders. No build step.

const HISTORY_SECONDS = 300
const $ = (id) => document.getElementById(id)
const number = new Intl.NumberFormat('en')
let history = []

// EventSource connects again by itself after a network error, but gives up on an answer that is not a stream
// (a 503 while the server shuts down): then a new one is made, so the page catches up after a restart too.
function connect() {
  const events = new EventSource('/live/events')
  events.addEventListener('open', () => showFeed(true))
  events.addEventListener('error', () => {
    showFeed(false)
    if (events.readyState === EventSource.CLOSED) setTimeout(connect, 1_000)
  })
  events.addEventListener('history', (event) => {
    history = JSON.parse(event.data)
    drawChart()
  })
  events.addEventListener('connections', (event) => showConnections(JSON.parse(event.data)))
  events.addEventListener('snapshot', (event) => {
    const snapshot = JSON.parse(event.data)
    if (snapshot.rate) {
      history.push(snapshot.rate)
      history = history.slice(-HISTORY_SECONDS)
    }
    showSnapshot(snapshot)
    drawChart()
  })
}

function showFeed(live) {
  const feed = $('feed')
  feed.dataset.state = live ? 'live' : 'offline'
  feed.querySelector('b').textContent = live ? 'live' : 'offline'
  $('server-banner').hidden = live
}

function showConnections(view) {
  for (const role of ['publish', 'consume']) {
    const link = $(`conn-${role}`)
    const { state, reconnects } = view[role]
    link.dataset.state = state
    const pool = role === 'consume' && view.consume.pool > 1 ? ` ×${view.consume.pool}` : ''
    link.querySelector('b').textContent = state + pool
    link.title = `${reconnects} reconnects`
  }
  $('broker-banner').hidden = view.up
  const sides = ['publish', 'consume'].map((role) => `${role}: ${view[role].state}`).join(', ')
  $('broker-detail').textContent = `(${sides}${view.lastError ? `; ${view.lastError}` : ''})`
}

const show = (value) => (value === null || value === undefined ? '–' : number.format(value))

function showSnapshot(snapshot) {
  const { orders } = snapshot
  $('placed').textContent = show(orders.placed)
  $('processed').textContent = show(orders.processed)
  $('open').textContent = show(orders.open)
  $('dead-lettered').textContent = show(orders.deadLettered)
  $('unconfirmed').textContent = show(orders.unconfirmed)
  showConnections(snapshot.connections)
  $('consumers').replaceChildren(
    ...snapshot.consumers.map((c) => {
      const state = c.active ? 'active' : c.suspended ? `suspended: ${c.suspended}` : 'stopped'
      return row([
        c.queue,
        cell(state, c.active ? 'state-active' : 'state-stopped'),
        `${c.inFlight} / ${c.concurrency}`,
        show(c.retriesWaiting),
        show(c.deadLettered),
      ])
    })
  )
  const deepest = Math.max(1, ...snapshot.queues.map((q) => q.messages ?? 0))
  $('queues').replaceChildren(
    ...snapshot.queues.map((q) => {
      const bar = document.createElement('span')
      bar.style.width = `${((q.messages ?? 0) / deepest) * 100}%`
      const tr = row([q.queue, q.kind, cell(show(q.messages), 'num'), cell(bar, 'bar'), cell(show(q.consumers), 'num')])
      tr.className = q.kind
      tr.dataset.queue = q.queue
      return tr
    })
  )
}

function cell(content, className) {
  const td = document.createElement('td')
  if (className) td.className = className
  td.append(content)
  return td
}

function row(cells) {
  const tr = document.createElement('tr')
  tr.append(...cells.map((c) => (c instanceof HTMLElement ? c : cell(String(c)))))
  return tr
}

// The three rates as lines over the history's span (one minute at least, five at most), on a scale rounded up
// to 1, 2 or 5 times a power of ten.
function drawChart() {
  const svg = $('chart')
  const width = 640
  const height = 170
  const top = 8
  const bottom = height - 16
  const left = 34
  const now = history.at(-1)?.at ?? Date.now()
  const seconds = Math.min(HISTORY_SECONDS, Math.max(60, Math.ceil((now - (history[0]?.at ?? now)) / 60_000) * 60))
  $('chart-span').textContent = `orders/s, last ${seconds / 60} min`
  const x = (at) => left + ((at - (now - seconds * 1_000)) / (seconds * 1_000)) * (width - left)
  const highest = Math.max(1, ...history.flatMap((p) => [p.placed, p.processed, p.deadLettered]))
  const scale = niceCeiling(highest)
  const y = (value) => bottom - (value / scale) * (bottom - top)
  const ns = 'http://www.w3.org/2000/svg'
  const element = (name, attributes, text) => {
    const node = document.createElementNS(ns, name)
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value))
    if (text !== undefined) node.textContent = text
    return node
  }
  const nodes = []
  // Where the broker was away: a band behind the lines, one sample wide each.
  const interval = history.length > 1 ? (now - history[0].at) / (history.length - 1) : 1_000
  for (const p of history.filter((point) => !point.brokerUp)) {
    const from = x(p.at - interval)
    nodes.push(element('rect', { class: 'away', x: from, y: top, width: x(p.at) - from, height: bottom - top }))
  }
  for (const value of [0, scale / 2, scale]) {
    nodes.push(element('line', { class: 'grid', x1: left, x2: width, y1: y(value), y2: y(value) }))
    nodes.push(element('text', { x: 0, y: y(value) + 3 }, number.format(value)))
  }
  // A tick every 15 s over one minute, every minute over more.
  const step = seconds === 60 ? 15 : 60
  for (let ago = seconds; ago > 0; ago -= step) {
    const label = step === 60 ? `-${ago / 60} min` : `-${ago} s`
    nodes.push(element('text', { x: x(now - ago * 1_000), y: height - 2 }, label))
  }
  // Placed last, dashed: while every order is processed as it comes, it runs on top of the processed line.
  for (const [key, className] of [
    ['processed', 'processed'],
    ['deadLettered', 'dead'],
    ['placed', 'placed'],
  ]) {
    const points = history.map((p) => `${x(p.at).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ')
    nodes.push(element('polyline', { class: className, points }))
  }
  svg.replaceChildren(...nodes)
}

function niceCeiling(value) {
  const power = 10 ** Math.floor(Math.log10(value))
  return ([1, 2, 5, 10].find((step) => step * power >= value) ?? 10) * power
}

// Orders: each a POST /orders, answered 202 once the broker confirmed it (or 503 while it is away).
const CUSTOMERS = ['ada', 'grace', 'linus', 'barbara', 'ken', 'margaret']

function order(sku) {
  const customer = CUSTOMERS[Math.floor(Math.random() * CUSTOMERS.length)]
  return { customer, items: [{ sku, quantity: 1 + Math.floor(Math.random() * 3) }] }
}

async function post(label, orders) {
  const item = document.createElement('li')
  item.textContent = `${label}: posting…`
  $('answers').prepend(item)
  while ($('answers').children.length > 5) $('answers').lastElementChild.remove()
  const answers = await Promise.all(
    orders.map((body) =>
      fetch('/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
        .then((response) => String(response.status))
        .catch(() => 'no answer')
    )
  )
  const counts = new Map()
  for (const answer of answers) counts.set(answer, (counts.get(answer) ?? 0) + 1)
  item.textContent = `${label}: ${[...counts].map(([answer, n]) => `${n} × ${answer}`).join(', ')}`
}

$('post-batch').addEventListener('click', () =>
  post(
    '20 orders',
    Array.from({ length: 20 }, (_, n) => order(`A-${n + 1}`))
  )
)
$('post-flaky').addEventListener('click', () => post('a flaky order', [order('FLAKY-1')]))
$('post-poison').addEventListener('click', () => post('a poison order', [order('POISON-1')]))

drawChart()
connect()
