// The live page: microphone → AudioWorklet → 16-bit PCM frames over /v1/live; the transcript as it grows.
// Everything comes from this server; transcript text is only ever set as text, never as markup.
"use strict";

const SUBPROTOCOL = "therapybridge.live.v1";
const MAX_QUEUED_FRAMES = 600; // about a minute of 100 ms frames held while the server loads its models

const $ = (id) => document.getElementById(id);
const state = {
  socket: null, context: null, stream: null, ready: false, queued: [], token: null,
  lines: [], partial: "", relabel: new Map(), speakers: [], ended: false,
};

function setStatus(text, kind) {
  $("status").textContent = text;
  $("status").dataset.state = kind;
}

// A speaker as shown: SPEAKER_00 → "Speaker 1", after every relabel (merged clusters) is applied.
function resolve(speaker) {
  const seen = new Set();
  while (speaker && state.relabel.has(speaker) && !seen.has(speaker)) {
    seen.add(speaker);
    speaker = state.relabel.get(speaker);
  }
  return speaker;
}

function speakerName(speaker) {
  if (!speaker) return "Speaker ?";
  const match = /^SPEAKER_(\d+)$/.exec(speaker);
  return match ? `Speaker ${Number(match[1]) + 1}` : speaker;
}

function speakerClass(speaker) {
  const match = /(\d+)$/.exec(speaker || "");
  return match ? `s${Number(match[1]) % 8}` : "s7";
}

function joinWords(words) {
  return words.map((w) => w.text).join(" ").replace(/\s+/g, " ").trim();
}

function renderLine(line) {
  const shown = resolve(line.speaker);
  line.element.dataset.speaker = shown || "";
  line.label.textContent = speakerName(shown);
  line.label.className = `speaker ${speakerClass(shown)}`;
  line.text.textContent = joinWords(line.words);
}

function addCommitted(words) {
  for (const word of words) {
    let line = state.lines[state.lines.length - 1];
    if (!line || resolve(line.speaker) !== resolve(word.speaker)) {
      const element = document.createElement("p");
      element.className = "line";
      const label = document.createElement("span");
      const text = document.createElement("span");
      text.className = "words";
      element.append(label, text);
      $("transcript").append(element);
      line = { speaker: word.speaker, words: [], element, label, text };
      state.lines.push(line);
    }
    line.words.push(word);
    renderLine(line);
  }
}

function renderSpeakers() {
  const list = $("speaker-list");
  list.replaceChildren();
  const shown = [...new Set(state.speakers.map(resolve))];
  for (const speaker of shown) {
    const tag = document.createElement("span");
    tag.className = speakerClass(speaker);
    tag.dataset.speaker = speaker;
    tag.textContent = speakerName(speaker);
    list.append(tag);
  }
}

function onMessage(event) {
  let message;
  try {
    message = JSON.parse(event.data);
  } catch (error) {
    return;
  }
  switch (message.type) {
    case "ready":
      state.ready = true;
      setStatus("Live: listening.", "live");
      for (const frame of state.queued.splice(0)) state.socket.send(frame);
      break;
    case "partial":
      $("partial").textContent = joinWords(message.words || []);
      break;
    case "committed":
      addCommitted(message.words || []);
      break;
    case "relabel":
      state.relabel.set(message.from, message.to);
      state.lines.forEach(renderLine);
      renderSpeakers();
      break;
    case "speakers":
      state.speakers = message.speakers || [];
      renderSpeakers();
      break;
    case "end":
      onEnd(message);
      break;
    default:
      break; // utterance lines repeat the committed words, already shown
  }
}

function onEnd(message) {
  state.ended = true;
  $("partial").textContent = "";
  const failed = message.reason === "error";
  let text = failed ? `Ended: ${message.message}` : `Ended (${message.reason}).`;
  if (message.job && message.state === "queued") text += " The final pass over the whole recording is running…";
  setStatus(text, failed ? "error" : "ended");
  stopCapture();
  if (message.job) showFinal(message.job, failed);
}

async function showFinal(jobId, failed) {
  const headers = { Authorization: `Bearer ${state.token}` };
  for (;;) {
    const response = await fetch(`/v1/jobs/${jobId}`, { headers, cache: "no-store" });
    if (!response.ok) return;
    const job = await response.json();
    if (job.state === "done") break;
    if (job.state === "failed") {
      setStatus(`The final pass failed: ${job.error}`, "error");
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const result = await fetch(`/v1/jobs/${jobId}/result?format=txt`, { headers, cache: "no-store" });
  if (!result.ok) return;
  $("final-text").textContent = await result.text();
  $("final").hidden = false;
  if (!failed) setStatus(`Done: job ${jobId}.`, "done");
}

function onFrame(event) {
  const samples = event.data;
  const pcm = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i += 1) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    pcm[i] = s < 0 ? s * 32768 : s * 32767;
  }
  const socket = state.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN || state.ended) return;
  if (state.ready) socket.send(pcm.buffer);
  else if (state.queued.length < MAX_QUEUED_FRAMES) state.queued.push(pcm.buffer);
}

async function start(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  Object.assign(state, { ready: false, queued: [], lines: [], relabel: new Map(), speakers: [], ended: false, token });
  $("transcript").replaceChildren();
  $("partial").textContent = "";
  $("final").hidden = true;
  $("start").disabled = true;
  setStatus("Opening the microphone…", "starting");
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    state.context = new AudioContext();
    await state.context.audioWorklet.addModule("/live/live-worklet.js");
    const source = state.context.createMediaStreamSource(state.stream);
    const capture = new AudioWorkletNode(state.context, "pcm-capture", { numberOfInputs: 1, numberOfOutputs: 1 });
    capture.port.onmessage = onFrame;
    source.connect(capture);
    capture.connect(state.context.destination); // its output is silence; connected so that it keeps running
  } catch (error) {
    setStatus(`The microphone could not be opened: ${error.message}`, "error");
    stopCapture();
    return;
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/live`, [SUBPROTOCOL]);
  socket.binaryType = "arraybuffer";
  state.socket = socket;
  socket.onopen = () => {
    const speakers = $("speakers").value;
    const start = {
      type: "start", token, format: "s16le", sample_rate: state.context.sampleRate,
      final_pass: $("final-pass").checked,
    };
    if (speakers) start.speakers = Number(speakers);
    socket.send(JSON.stringify(start));
    setStatus("Connected; the server is getting ready…", "starting");
    $("stop").disabled = false;
  };
  socket.onmessage = onMessage;
  socket.onclose = (close) => {
    if (!state.ended) {
      setStatus(`Closed (${close.code})${close.reason ? `: ${close.reason}` : ""}`, close.code === 1000 ? "ended" : "error");
    }
    stopCapture();
  };
}

function stop() {
  const socket = state.socket;
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
  setStatus("Stopping: committing what is left…", "stopping");
  stopCapture();
}

function stopCapture() {
  if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
  if (state.context) state.context.close().catch(() => {});
  state.stream = null;
  state.context = null;
  $("start").disabled = false;
  $("stop").disabled = true;
}

document.addEventListener("DOMContentLoaded", () => {
  $("controls").addEventListener("submit", start);
  $("stop").addEventListener("click", stop);
});
