// The event gallery: a click on an event plays it in the page's player instead of following
// the link (which stays for a page without JavaScript), and marks the playing card.

document.addEventListener("click", (e) => {
  const link = e.target.closest(".event-play");
  if (!link || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
  const card = link.closest(".event-card");
  if (!card) return;
  e.preventDefault();
  for (const other of document.querySelectorAll(".event-card.playing")) other.classList.remove("playing");
  card.classList.add("playing");
  document.dispatchEvent(new CustomEvent("playback:event", {
    detail: {
      eventId: card.dataset.eventId,
      start: Number(card.dataset.start),
      end: Number(card.dataset.end),
    },
  }));
});
