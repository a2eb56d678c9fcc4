/**
 * Catches render errors of a page, including a page's code failing to load:
 * after a deploy, an open tab still asks for the previous build's chunk names,
 * which the server no longer has. Reloading fetches the new build.
 */
import { Alert, Button, Stack, Text } from "@mantine/core";
import { Component, type ReactNode } from "react";

export class PageErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override componentDidUpdate(prev: { resetKey: string }) {
    // Navigating elsewhere gives the next page a fresh start.
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }

  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    const stale = /dynamically imported module|Importing a module script failed|Failed to fetch/i.test(error.message);
    return (
      <Alert color="red" title={stale ? "The dashboard was updated" : "This page failed"} role="alert">
        <Stack gap="xs">
          <Text size="sm">{stale ? "A newer version of Tollgate is running. Reload to continue." : error.message}</Text>
          <Button size="xs" w="fit-content" onClick={() => window.location.reload()}>
            Reload
          </Button>
        </Stack>
      </Alert>
    );
  }
}
