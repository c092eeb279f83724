// What the panel loads when it first opens (chat-frame.js imports this one module, so what
// loads before that stays under the widget's size budget): the transcript button, files and
// the emoji picker, the site's notice and the chime on a reply while the page is away.
import "./transcript.js";
import "./files.js";
import "./emoji.js";
import "./notice.js";
import "./attention.js";
