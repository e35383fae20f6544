-- The analytics read model (schema analytics, owned by the analytics service).
--
-- event_log    every event the projection used, exactly as delivered: the replay source, and
--              (by its primary key) the record of processed events that makes delivery
--              idempotent. Its seq is the arrival order.
-- facts        fills, marks, bars: one row per event fact, independent of arrival order.
-- projections  position_steps, round_trips, equity_points, equity_daily, pnl_daily: derived
--              from the facts; deleted and re-derived by a rebuild.
-- Money, quantities and prices are NUMERIC (exact); times are timestamptz (UTC); days are UTC.

CREATE TABLE analytics.event_log (
    event_id      uuid PRIMARY KEY,
    seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    type          text NOT NULL,
    topic         text NOT NULL,
    partition_key text NOT NULL,
    ts_event      timestamptz NOT NULL,
    ts_recorded   timestamptz NOT NULL,
    payload       jsonb NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_log_replay_order ON analytics.event_log (ts_event, seq);

-- The processed-event record is the event log's primary key (written in the same transaction
-- as the projection update); this view names it.
CREATE VIEW analytics.processed_events AS
    SELECT event_id, seq, type, received_at FROM analytics.event_log;

-- UTC days on which any event happened: the days of the daily series.
CREATE TABLE analytics.active_days (
    day date PRIMARY KEY
);

CREATE TABLE analytics.accounts (
    account_id    text PRIMARY KEY,
    starting_cash numeric NOT NULL CHECK (starting_cash >= 0)
);

-- One row per account ('' as strategy_id) and per strategy of an account.
CREATE TABLE analytics.scopes (
    account_id  text NOT NULL REFERENCES analytics.accounts,
    strategy_id text NOT NULL,
    PRIMARY KEY (account_id, strategy_id)
);

-- One row per position: (account, strategy, symbol) with at least one fill.
CREATE TABLE analytics.positions (
    account_id  text NOT NULL,
    strategy_id text NOT NULL,
    symbol      text NOT NULL,
    PRIMARY KEY (account_id, strategy_id, symbol),
    FOREIGN KEY (account_id, strategy_id) REFERENCES analytics.scopes
);
CREATE INDEX positions_by_symbol ON analytics.positions (symbol);

CREATE TABLE analytics.fills (
    event_id    uuid PRIMARY KEY,
    seq         bigint NOT NULL,
    fill_id     uuid NOT NULL UNIQUE,
    order_id    uuid NOT NULL,
    account_id  text NOT NULL,
    strategy_id text NOT NULL,
    symbol      text NOT NULL,
    at          timestamptz NOT NULL,
    side        text NOT NULL CHECK (side IN ('buy', 'sell')),
    qty         numeric NOT NULL CHECK (qty > 0),
    price       numeric NOT NULL CHECK (price > 0),
    fee         numeric NOT NULL CHECK (fee >= 0)
);
CREATE INDEX fills_by_key ON analytics.fills (account_id, strategy_id, symbol, at, seq);

-- The price of a symbol at a moment: one per (symbol, at); the best-ranked source wins
-- (quote > bar > engine position mark > fill), then the later arrival within the partition.
CREATE TABLE analytics.marks (
    symbol   text NOT NULL,
    at       timestamptz NOT NULL,
    price    numeric NOT NULL CHECK (price > 0),
    source   text NOT NULL,
    rank     smallint NOT NULL,
    seq      bigint NOT NULL,
    event_id uuid NOT NULL,
    PRIMARY KEY (symbol, at)
);

CREATE TABLE analytics.bars (
    symbol    text NOT NULL,
    timeframe text NOT NULL,
    at        timestamptz NOT NULL,
    ts_open   timestamptz NOT NULL,
    open      numeric NOT NULL,
    high      numeric NOT NULL,
    low       numeric NOT NULL,
    close     numeric NOT NULL,
    volume    numeric NOT NULL,
    event_id  uuid NOT NULL,
    PRIMARY KEY (symbol, timeframe, at)
);

-- The position of (account, strategy, symbol) after each of its fills, in (at, seq) order:
-- average-cost quantity and price, cumulative realised P&L (before fees), fees, turnover and
-- cash flow, and the round trip in progress.
CREATE TABLE analytics.position_steps (
    account_id     text NOT NULL,
    strategy_id    text NOT NULL,
    symbol         text NOT NULL,
    at             timestamptz NOT NULL,
    seq            bigint NOT NULL,
    event_id       uuid NOT NULL,
    fill_qty       numeric NOT NULL,
    fill_price     numeric NOT NULL,
    fee            numeric NOT NULL,
    notional       numeric NOT NULL,
    realized_delta numeric NOT NULL,
    qty            numeric NOT NULL,
    avg_cost       numeric NOT NULL,
    realized       numeric NOT NULL,
    fees           numeric NOT NULL,
    turnover       numeric NOT NULL,
    cash_flow      numeric NOT NULL,
    fills          integer NOT NULL,
    trips          integer NOT NULL,
    trip_opened_at timestamptz,
    trip_realized  numeric NOT NULL,
    trip_fees      numeric NOT NULL,
    trip_fills     integer NOT NULL,
    trip_peak_qty  numeric NOT NULL,
    PRIMARY KEY (account_id, strategy_id, symbol, at, seq)
);
CREATE INDEX position_steps_by_account ON analytics.position_steps (account_id, at);

CREATE TABLE analytics.round_trips (
    account_id  text NOT NULL,
    strategy_id text NOT NULL,
    symbol      text NOT NULL,
    trip_no     integer NOT NULL,
    direction   text NOT NULL CHECK (direction IN ('long', 'short')),
    opened_at   timestamptz NOT NULL,
    closed_at   timestamptz NOT NULL,
    peak_qty    numeric NOT NULL,
    fills       integer NOT NULL,
    realized    numeric NOT NULL,
    fees        numeric NOT NULL,
    pnl         numeric NOT NULL,
    PRIMARY KEY (account_id, strategy_id, symbol, trip_no)
);
CREATE INDEX round_trips_by_close ON analytics.round_trips (account_id, closed_at);

-- The equity curve at event resolution: one point per moment at which an event changed the
-- scope's equity (its fills, marks of the symbols it holds).
CREATE TABLE analytics.equity_points (
    account_id  text NOT NULL,
    strategy_id text NOT NULL,
    at          timestamptz NOT NULL,
    equity      numeric NOT NULL,
    cash        numeric NOT NULL,
    long_value  numeric NOT NULL,
    short_value numeric NOT NULL,
    realized    numeric NOT NULL,
    unrealized  numeric NOT NULL,
    fees        numeric NOT NULL,
    PRIMARY KEY (account_id, strategy_id, at)
);

-- The daily equity curve: the scope's last point at or before each active day's end, with the
-- day's realised P&L, fees, turnover and fills.
CREATE TABLE analytics.equity_daily (
    account_id   text NOT NULL,
    strategy_id  text NOT NULL,
    day          date NOT NULL,
    equity       numeric NOT NULL,
    cash         numeric NOT NULL,
    long_value   numeric NOT NULL,
    short_value  numeric NOT NULL,
    realized     numeric NOT NULL,
    unrealized   numeric NOT NULL,
    fees         numeric NOT NULL,
    day_realized numeric NOT NULL,
    day_fees     numeric NOT NULL,
    day_turnover numeric NOT NULL,
    day_fills    integer NOT NULL,
    PRIMARY KEY (account_id, strategy_id, day)
);

-- P&L by (account, strategy, symbol) and day: the day's realised P&L, fees, turnover, fills,
-- and the position at the day's end with its mark, market value, unrealised P&L and the
-- cumulative net P&L to date (realised - fees + unrealised). A row exists for each active day
-- with fills or an open position at the day's end.
CREATE TABLE analytics.pnl_daily (
    account_id   text NOT NULL,
    strategy_id  text NOT NULL,
    symbol       text NOT NULL,
    day          date NOT NULL,
    realized     numeric NOT NULL,
    fees         numeric NOT NULL,
    turnover     numeric NOT NULL,
    fills        integer NOT NULL,
    qty          numeric NOT NULL,
    avg_cost     numeric NOT NULL,
    mark         numeric NOT NULL,
    market_value numeric NOT NULL,
    unrealized   numeric NOT NULL,
    pnl_to_date  numeric NOT NULL,
    PRIMARY KEY (account_id, strategy_id, symbol, day)
);
CREATE INDEX pnl_daily_by_account_day ON analytics.pnl_daily (account_id, day);
