// Before the first paint: the colour scheme the dashboard will use (the one picked in the
// profile menu, else the system's), so a dark page never flashes white. Same key as web/src/theme.ts.
try {
  const picked = window.localStorage.getItem("tollgate-color-scheme");
  const scheme =
    picked === "light" || picked === "dark"
      ? picked
      : window.matchMedia("(prefers-color-scheme: dark)").matches
        ? "dark"
        : "light";
  document.documentElement.setAttribute("data-mantine-color-scheme", scheme);
} catch (_) {
  // No storage (private mode, blocked): Mantine decides once it starts.
}
