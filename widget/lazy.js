// What the panel loads when it first opens (chat-frame.js imports this one module, so what
// loads before that stays under the widget's size budget): the transcript button, files and
// the emoji picker, the site's notice, the chime on a reply while the page is away, and
// help articles suggested while the visitor types their first message.
import "./transcript.js";
import "./files.js";
import "./emoji.js";
import "./notice.js";
import "./attention.js";
import "./articles.js";
