// Ledgerline dashboard: reads the query API with the key the user typed (kept in
// sessionStorage only) and draws every chart with the bundled Apache ECharts. Chart values are
// the API's numbers as returned (money in minor units; axes format them as major units).
//
// Charts render as SVG and animate unless the user asks for reduced motion
// (`prefers-reduced-motion: reduce`). Once every chart of a load has rendered (ECharts'
// `finished`: animation and progressive rendering done), <body> gets data-charts="rendered".
"use strict";

const KEY = "ledgerline.apiKey";
const charts = {};
const $ = (id) => document.getElementById(id);
let loads = 0; // the latest load(); an older one that answers later draws nothing

const reducedMotion = () => window.matchMedia("(prefers-reduced-motion: reduce)").matches;

function apiKey() { return sessionStorage.getItem(KEY); }

class Unauthorized extends Error {}

async function get(path, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    for (const item of [].concat(value)) {
      if (item !== undefined && item !== null && item !== "") query.append(name, item);
    }
  }
  const response = await fetch(`${path}?${query}`, { headers: { "X-API-Key": apiKey() } });
  if (response.status === 401) throw new Unauthorized("The API key was refused.");
  const body = await response.json();
  if (!response.ok) throw new Error(`${path}: ${JSON.stringify(body.detail)}`);
  return body;
}

// Every page of a list endpoint (bounded: at most 20 pages of 500).
async function getAll(path, params) {
  const first = await get(path, { ...params, page: 1, page_size: 500 });
  const items = [...first.items];
  for (let page = 2; items.length < first.total_items && page <= 20; page++) {
    items.push(...(await get(path, { ...params, page, page_size: 500 })).items);
  }
  return { ...first, items };
}

const major = (value) => (value / 100).toLocaleString(undefined, { maximumFractionDigits: 2 });
const percent = (value) => `${(value * 100).toFixed(1)}%`;

function chart(id) {
  if (!charts[id]) charts[id] = echarts.init($(id), null, { renderer: "svg" });
  return charts[id];
}

// Replaces a chart's option; resolves once ECharts reports the chart finished rendering.
function draw(id, option) {
  const instance = chart(id);
  const finished = new Promise((resolve) => {
    const done = () => {
      instance.off("finished", done);
      resolve();
    };
    instance.on("finished", done);
  });
  instance.setOption({ ...option, animation: !reducedMotion() }, true);
  return finished;
}

function moneyAxis() { return { type: "value", axisLabel: { formatter: major } }; }

function drawMrr(mrr) {
  const months = mrr.items.map((item) => item.period_start);
  const movement = (name) => mrr.items.map((item) => (item.movements ? item.movements[name] : 0));
  const bar = (name, field) => ({ name, type: "bar", stack: "movements", data: movement(field) });
  return draw("chart-mrr", {
    tooltip: { trigger: "axis" }, legend: { top: 0 },
    xAxis: { type: "category", data: months }, yAxis: moneyAxis(),
    series: [
      { name: "MRR", type: "line", data: mrr.items.map((item) => item.mrr_minor) },
      bar("New", "new_mrr_minor"), bar("Expansion", "expansion_mrr_minor"),
      bar("Reactivation", "reactivation_mrr_minor"), bar("Contraction", "contraction_mrr_minor"),
      bar("Churned", "churned_mrr_minor"), bar("Transfer", "transfer_mrr_minor"),
      bar("FX effect", "fx_effect_minor"),
    ],
  });
}

function drawSubscriptions(subscriptions) {
  return draw("chart-subscriptions", {
    tooltip: { trigger: "axis" }, legend: { top: 0 },
    xAxis: { type: "category", data: subscriptions.items.map((item) => item.period_start) },
    yAxis: { type: "value" },
    series: [
      { name: "Active subscriptions", type: "line", data: subscriptions.items.map((i) => i.active_subscriptions) },
      { name: "Active customers", type: "line", data: subscriptions.items.map((i) => i.active_customers) },
    ],
  });
}

function drawRevenue(revenue) {
  const periods = [...new Set(revenue.items.map((item) => item.period_start))].sort();
  const regions = [...new Set(revenue.items.map((item) => item.region_id))].sort();
  const series = regions.map((region) => ({
    name: region, type: "bar", stack: "billed",
    data: periods.map((period) => {
      const found = revenue.items.find((item) => item.period_start === period && item.region_id === region);
      return found ? found.billed_minor : 0;
    }),
  }));
  return draw("chart-revenue", {
    tooltip: { trigger: "axis" }, legend: { top: 0 },
    xAxis: { type: "category", data: periods }, yAxis: moneyAxis(), series,
  });
}

function forecastStatus(forecast) {
  const segment = [forecast.region_id, forecast.plan_id].filter((id) => id).join(" / ");
  if (!forecast.vintage) return "No forecast has been run yet.";
  const vintage = `Vintage as of ${forecast.vintage.as_of_date}`;
  if (!forecast.series) return `${vintage} has no forecast for ${segment || "this segment"}.`;
  return `${vintage} (${forecast.series.model}) · ${forecast.window.start} – ${forecast.window.end}`;
}

function drawForecast(forecast) {
  const items = forecast.items;
  $("forecast-status").textContent = forecastStatus(forecast);
  const value = (field) => items.map((item) => (item[field] === null ? null : Number(item[field])));
  const width = (low, high) => items.map((item) =>
    item[low] === null || item[high] === null ? null : Number(item[high]) - Number(item[low]));
  // A band is a transparent base plus a stacked width; series colour and item opacity make the
  // legend icon match the drawn band.
  const band = (name, stack, data, opacity) => ({
    name, type: "line", stack, data, symbol: "none", color: "#5470c6",
    lineStyle: { opacity: 0 }, areaStyle: { opacity }, itemStyle: { opacity },
  });
  return draw("chart-forecast", {
    tooltip: { trigger: "axis" }, legend: { top: 0, data: ["Actual", "Forecast", "95% interval", "80% interval"] },
    xAxis: { type: "category", data: items.map((item) => item.ds) }, yAxis: moneyAxis(),
    series: [
      band("95% base", "band95", value("lo_95"), 0), band("95% interval", "band95", width("lo_95", "hi_95"), 0.15),
      band("80% base", "band80", value("lo_80"), 0), band("80% interval", "band80", width("lo_80", "hi_80"), 0.3),
      { name: "Actual", type: "line", data: items.map((item) => item.actual), symbol: "none", color: "#73c0de" },
      {
        name: "Forecast", type: "line", data: value("point"), symbol: "none", color: "#3ba272",
        lineStyle: { type: "dashed" },
      },
    ],
  });
}

function drawChurn(churn) {
  const rate = (field) => churn.items.map((item) => item[field]);
  return draw("chart-churn", {
    tooltip: { trigger: "axis", valueFormatter: (v) => (v === null ? "n/a" : percent(v)) }, legend: { top: 0 },
    xAxis: { type: "category", data: churn.items.map((item) => item.period_start) },
    yAxis: { type: "value", axisLabel: { formatter: percent } },
    series: ["logo_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate", "nrr", "grr"].map((field) => ({
      name: field, type: "line", data: rate(field), connectNulls: false,
    })),
  });
}

function drawDataQuality(freshness, quarantine) {
  const body = $("freshness").querySelector("tbody");
  body.replaceChildren(...freshness.families.map((family) => {
    const row = document.createElement("tr");
    const lag = family.lag_seconds === null ? "—" : `${Math.round(family.lag_seconds / 60)} min`;
    for (const [text, cls] of [[family.family], [family.latest_event_time || "—"], [lag], [family.status, family.status]]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      if (cls) cell.className = cls;
      row.append(cell);
    }
    return row;
  }));
  $("quarantine-status").textContent = quarantine.available
    ? `${quarantine.total_events} quarantined events (quarantined ${quarantine.window.start} – ${quarantine.window.end})`
    : `Quarantine counts unavailable: ${quarantine.detail}`;
  // Distinct events per family and reason; records (re-published copies included) in the tooltip.
  return draw("chart-quarantine", {
    tooltip: { trigger: "axis" }, legend: { top: 0 },
    xAxis: { type: "category", data: quarantine.items.map((i) => `${i.family}/${i.reason}`) },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: "Quarantined events", type: "bar", data: quarantine.items.map((i) => i.event_count) },
      { name: "Quarantine records", type: "bar", data: quarantine.items.map((i) => i.record_count) },
    ],
  });
}

async function fillSelect(id, dimension) {
  const select = $(id);
  if (select.options.length > 1) return;
  for (const value of (await getAll(`/v1/dimensions/${dimension}`, {})).items) {
    const option = document.createElement("option");
    option.value = value.id;
    option.textContent = value.name ? `${value.name} (${value.id})` : value.id;
    select.append(option);
  }
}

function showMessage(text) {
  $("message").textContent = text;
  $("message").hidden = !text;
}

function signedIn(yes) {
  $("login").hidden = yes;
  $("sign-out").hidden = !yes;
  $("filters").hidden = !yes;
  $("panels").hidden = !yes;
}

// The dates the user chose. A date the page filled in (the MRR window it was given) only shows
// that default: it is not sent, so each panel keeps its own default window (the forecast its
// vintage's horizon, quarantine counts the 12 months to today) until the user sets a date.
function chosenDate(id) {
  return $(id).dataset.auto ? "" : $(id).value;
}

function showDefaultDates(span) {
  for (const [id, value] of [["start", span.start], ["end", span.end]]) {
    if ($(id).dataset.auto || !$(id).value) {
      $(id).value = value;
      $(id).dataset.auto = "true";
    }
  }
}

async function load() {
  const generation = ++loads;
  document.body.dataset.state = "loading";
  document.body.dataset.charts = "pending";
  showMessage("");
  const dates = { start: chosenDate("start"), end: chosenDate("end") };
  const segment = { region_id: $("region").value, plan_id: $("plan").value };
  const filters = { ...dates, ...segment };
  try {
    await Promise.all([fillSelect("region", "region"), fillSelect("plan", "plan")]);
    signedIn(true);
    const [mrr, subscriptions, revenue, forecast, churn, freshness, quarantine] = await Promise.all([
      getAll("/v1/mrr", { ...filters, granularity: "month" }),
      getAll("/v1/subscriptions", { ...filters, granularity: "month" }),
      getAll("/v1/revenue", { ...filters, granularity: "month", group_by: "region" }),
      getAll("/v1/forecasts/vs-actual", { ...filters, metric: "mrr", freq: "day" }),
      getAll("/v1/churn", { ...filters, granularity: "month" }),
      get("/v1/data-quality/freshness", {}), // live state: takes no dates (the page says so)
      getAll("/v1/data-quality/quarantine", dates),
    ]);
    if (generation !== loads) return;
    $("provenance").textContent =
      `data as of ${mrr.data_as_of || "—"} · definitions ${mrr.metric_definitions_version} · ${mrr.reporting_currency || ""}`;
    showDefaultDates(mrr.window);
    const rendered = [
      drawMrr(mrr),
      drawSubscriptions(subscriptions),
      drawRevenue(revenue),
      drawForecast(forecast),
      drawChurn(churn),
      drawDataQuality(freshness, quarantine),
    ];
    document.body.dataset.state = "ready";
    Promise.all(rendered).then(() => {
      if (generation === loads) document.body.dataset.charts = "rendered";
    });
  } catch (error) {
    if (generation !== loads) return;
    if (error instanceof Unauthorized) {
      sessionStorage.removeItem(KEY);
      signedIn(false);
    }
    showMessage(error.message);
    document.body.dataset.state = "error";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("api-key").value);
    $("api-key").value = "";
    load();
  });
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    signedIn(false);
    document.body.dataset.state = "signed-out";
  });
  for (const id of ["start", "end"]) $(id).addEventListener("input", () => delete $(id).dataset.auto);
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  if (apiKey()) load();
  else {
    signedIn(false);
    document.body.dataset.state = "signed-out";
  }
});
