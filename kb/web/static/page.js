() => { (
() => {
  let seen = 0;
  const follow = () => {
    const asked = document.querySelectorAll('#kb-chat [data-testid=user]');
    if (asked.length < seen) { seen = asked.length; }
    if (asked.length === seen) { return; }
    seen = asked.length;
    const last = asked[asked.length - 1];
    const box = last.closest('[role=log]');
    if (box) {
      box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
    }
    const top = last.getBoundingClientRect().top;  // on a phone the chat itself may be above the window
    if (top < 0 || top > window.innerHeight - 80) { window.scrollBy(0, top - 8); }
  };
  new MutationObserver(follow).observe(document.body, {childList: true, subtree: true});
}
)(); (
() => {
  const label = () => {
    const grid = document.querySelector('#ob-table [role=grid]');
    if (!grid) { return; }
    const heads = [...grid.querySelectorAll('thead th')].map(th => (th.getAttribute('title') || '').trim());
    grid.querySelectorAll('[role=gridcell][data-col]').forEach(cell => {
      const head = heads[Number(cell.getAttribute('data-col'))];
      if (head && cell.getAttribute('data-kb-label') !== head) { cell.setAttribute('data-kb-label', head); }
    });
  };
  new MutationObserver(label).observe(document.body, {childList: true, subtree: true});
}
)(); (
() => {
  const focus = () => {
    const m = document.querySelector('#doc-body mark.kb-focus:not([data-kb-seen])');
    if (m && m.offsetParent !== null) {
      m.setAttribute('data-kb-seen', '1');
      m.scrollIntoView({block: 'center'});
    }
  };
  new MutationObserver(focus).observe(document.body, {childList: true, subtree: true, attributes: true});
}
)(); }