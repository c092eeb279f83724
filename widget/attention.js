// The chime on an agent's reply while the host page is out of sight or out of focus: the
// loader (which alone sees the host page) marks its title and asks for it with "chime"
// unless the page turned it off (data-sound="off"). A short, quiet tone made with WebAudio,
// no file. Browsers let a page make sound only after a gesture in it, so the AudioContext is
// made (or resumed) on the visitor's first pointer or key press in the panel; without one, or
// without audio at all, nothing sounds and nothing throws. Loaded lazily (widget/lazy.js).
const P = window.ChatPanel;
let audio = null;

function wake() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume().catch(() => {});
  } catch {
    audio = null;
  }
}
for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, wake, { capture: true, passive: true });

function chime() {
  // Scheduled even while the context is still waking: it sounds once it runs.
  if (!audio) return;
  try {
    const at = audio.currentTime;
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.type = "sine";
    tone.frequency.setValueAtTime(880, at);
    tone.frequency.exponentialRampToValueAtTime(660, at + 0.25);
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.08, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.4);
    tone.connect(gain).connect(audio.destination);
    tone.start(at);
    tone.stop(at + 0.45);
  } catch {
    // No sound is better than a broken panel.
  }
}

window.addEventListener("message", (event) => {
  if (event.source !== window.parent || event.origin !== P.HOST) return;
  const m = event.data;
  if (m && m.chatserver === 1 && m.type === "chime") chime();
});
