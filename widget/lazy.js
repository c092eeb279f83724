// What the panel loads when it first opens (chat-frame.js imports this one module, so what
// loads before that stays under the widget's size budget): the transcript button, files and
// the emoji picker.
import "./transcript.js";
import "./files.js";
import "./emoji.js";
