// ztbulk's web page: plain JavaScript over the /v1 API. Every value from the server is set as
// text (textContent), never as markup. The token stays in this tab (sessionStorage).
"use strict";

const $ = (id) => document.getElementById(id);
const KEY = "ztbulk-token";
const OUTCOMES = ["applied", "claimed", "unclaimed", "unchanged", "valid", "skipped", "rejected"];
let current = null; // the job shown in the "job" card
let timer = null;

// The page's words in its language (the service puts them in the page, `http.i18n`).
const MESSAGES = JSON.parse(document.getElementById("messages").textContent);

function t(message, values = {}) {
  let text = MESSAGES[message] || message;
  for (const [name, value] of Object.entries(values)) text = text.replaceAll("{" + name + "}", value);
  return text;
}

function token() { return sessionStorage.getItem(KEY); }

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + token() }, options.headers || {});
  const answer = await fetch(path, Object.assign({}, options, { headers }));
  if (!answer.ok) {
    let detail = answer.status + " " + answer.statusText;
    try { detail = (await answer.json()).detail || detail; } catch (e) { /* not JSON */ }
    const error = new Error(detail);
    error.status = answer.status;
    throw error;
  }
  return answer;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function number(n) { return Number(n).toLocaleString(); }

async function signIn(event) {
  if (event) event.preventDefault();
  const typed = $("token").value.trim();
  if (typed) sessionStorage.setItem(KEY, typed);
  if (!token()) return;
  try {
    const me = await (await api("/v1/me")).json();
    $("who-name").textContent = me.email;
    $("who-account").textContent = me.account_kind + " " + me.account_id + " · " + me.role;
    $("sign-in").hidden = true;
    $("who").hidden = false;
    $("app").hidden = false;
    $("token").value = "";
    await refresh();
  } catch (error) {
    sessionStorage.removeItem(KEY);
    $("sign-in-error").textContent = error.status === 401 ? t("This token is not valid.") : error.message;
    $("sign-in-error").hidden = false;
  }
}

function signOut() {
  sessionStorage.removeItem(KEY);
  location.reload();
}

function upload(event) {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  // XMLHttpRequest, not fetch: only it reports the upload's progress.
  const request = new XMLHttpRequest();
  const path = "/v1/" + $("mode").value + "?name=" + encodeURIComponent(file.name);
  request.open("POST", path);
  request.setRequestHeader("Authorization", "Bearer " + token());
  request.setRequestHeader("Content-Type", "text/csv");
  request.upload.onprogress = (e) => {
    if (!e.lengthComputable) return;
    $("upload-progress").value = Math.round((100 * e.loaded) / e.total);
    $("upload-status").textContent = t("Uploading {name}: {done} of {total} bytes",
      { name: file.name, done: number(e.loaded), total: number(e.total) });
  };
  request.onload = () => {
    $("upload-button").disabled = false;
    let body = {};
    try { body = JSON.parse(request.responseText); } catch (e) { /* not JSON */ }
    if (request.status === 202) {
      $("upload-status").textContent = t("Uploaded {name} as job {id}.", { name: file.name, id: body.id });
      show(body);
      refresh();
    } else {
      $("upload-status").textContent = t("Not uploaded: {why}", { why: body.detail || request.statusText });
    }
  };
  request.onerror = () => {
    $("upload-button").disabled = false;
    $("upload-status").textContent = t("Not uploaded: the connection failed.");
  };
  $("upload-button").disabled = true;
  $("upload-progress").hidden = false;
  $("upload-progress").value = 0;
  request.send(file);
}

function outcomeLine(outcomes) {
  if (!outcomes) return "";
  return OUTCOMES.filter((k) => outcomes[k]).map((k) => number(outcomes[k]) + " " + k).join(", ");
}

function show(job) {
  current = job;
  $("job").hidden = false;
  $("job-title").textContent = job.file_name + (job.dry_run ? " " + t("(dry run)") : "");
  $("job-state").textContent = job.state;
  $("job-state").className = "state " + job.state;
  $("job-status").textContent = t("Job {id}: {status}", { id: job.id, status: job.status });
  const p = job.progress;
  $("job-progress").hidden = job.state === "done" || !p.rows_total;
  if (p.rows_total) $("job-progress").value = Math.round((100 * p.rows_done) / p.rows_total);
  showCounts(job);
  const done = job.state === "done";
  $("job-status-page").hidden = !done;
  if (done) $("job-status-page").href = job.links.status_page;
  $("job-errors").hidden = !done || !hasFailures(job);
  for (const row of document.querySelectorAll("#jobs tbody tr")) {
    row.classList.toggle("current", row.dataset.id === job.id);
  }
}

function hasFailures(job) {
  return Boolean(job.outcomes && (job.outcomes.rejected || job.outcomes.skipped));
}

function showCounts(job) {
  const counts = $("job-counts"), chart = $("job-chart"), codes = $("job-codes");
  counts.replaceChildren();
  chart.replaceChildren();
  codes.tBodies[0].replaceChildren();
  const outcomes = job.outcomes || {};
  const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
  const rows = element("div", undefined, "count");
  rows.append(element("b", number(job.rows ?? 0)), element("span", t("data rows")));
  counts.append(rows);
  for (const name of OUTCOMES.filter((k) => outcomes[k])) {
    const box = element("div", undefined, "count");
    box.id = "count-" + name;
    box.append(element("b", number(outcomes[name])), element("span", name));
    counts.append(box);
    const bar = element("div", undefined, name);
    bar.style.width = (100 * outcomes[name]) / total + "%";
    bar.title = name + ": " + number(outcomes[name]);
    chart.append(bar);
  }
  chart.hidden = total === 0;
  const entries = Object.entries(job.codes || {}).sort((a, b) => b[1] - a[1]);
  for (const [code, n] of entries) {
    const tr = element("tr");
    tr.append(element("td", code), element("td", number(n), "n"));
    codes.tBodies[0].append(tr);
  }
  codes.hidden = entries.length === 0;
}

async function downloadErrors() {
  const answer = await api(current.links["errors.csv"]);
  const link = element("a");
  link.href = URL.createObjectURL(await answer.blob());
  link.download = current.id + "-errors.csv";
  document.body.append(link);
  link.click();
  link.remove();
}

function jobRow(job) {
  const tr = element("tr");
  tr.dataset.id = job.id;
  const state = element("td");
  state.append(element("span", job.state, "state " + job.state));
  tr.append(element("td", job.file_name + (job.dry_run ? " " + t("(dry run)") : "")),
    element("td", job.created_at.slice(0, 19)), state,
    element("td", job.rows === null ? "" : number(job.rows), "n"),
    element("td", outcomeLine(job.outcomes)));
  tr.addEventListener("click", () => show(job));
  return tr;
}

async function refresh() {
  clearTimeout(timer);
  let jobs = [];
  try {
    jobs = await (await api("/v1/jobs?limit=50")).json();
  } catch (error) {
    if (error.status === 401) return signOut();
    $("upload-status").textContent = t("Could not load the jobs: {why}", { why: error.message });
  }
  $("jobs").tBodies[0].replaceChildren(...jobs.map(jobRow));
  $("no-jobs").hidden = jobs.length > 0;
  const again = current && jobs.find((j) => j.id === current.id);
  if (again) show(again);
  const running = jobs.some((j) => j.state !== "done" && j.state !== "cancelled");
  if (running) timer = setTimeout(refresh, 1000); // live status while a job runs
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("upload-form").addEventListener("submit", upload);
  $("refresh").addEventListener("click", refresh);
  $("job-errors").addEventListener("click", downloadErrors);
  if (token()) signIn();
});
