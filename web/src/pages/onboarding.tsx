/**
 * The getting-started card on the organization's home page: the first steps,
 * each ticked from the organization's real state (the server computes them on
 * every visit), with a button to where each is done — or, for a step the
 * caller's role may not do, who to ask. Hidden for good by its close button
 * (for this person only), and once every step is done it says "You're all
 * set" one last time and hides itself from then on.
 */
import {
  Anchor,
  Badge,
  Button,
  Card,
  CloseButton,
  Group,
  Progress,
  Stack,
  Text,
  ThemeIcon,
  Title,
} from "@mantine/core";
import { useEffect, useState } from "react";
import { Link } from "react-router";
import {
  type Onboarding,
  type OnboardingStep,
  type OnboardingStepId,
  useDismissOnboarding,
  useOnboarding,
} from "../api-onboarding";
import { QueryError, useCurrentOrg } from "../session";
import { Snippets } from "./keys";

const COPY: Record<OnboardingStepId, { title: string; why: string; action: string; ask: string }> = {
  project: {
    title: "Make a project",
    why: "One per app or environment: it has its own keys, limits and logs.",
    action: "Create a project",
    ask: "Ask an owner or admin to create one.",
  },
  key: {
    title: "Make an API key",
    why: "Apps call this server with a project key instead of a provider's.",
    action: "Create an API key",
    ask: "Ask an owner or admin to add you to a project.",
  },
  first_request: {
    title: "Send a first request",
    why: "Point an OpenAI client at this server; the call shows up in the project's logs.",
    action: "Show the request snippet",
    ask: "Ask an owner or admin to add you to a project.",
  },
  teammate: {
    title: "Bring in a colleague",
    why: "Invite someone as an admin or a member.",
    action: "Invite someone",
    ask: "Ask an owner or admin to invite people.",
  },
  policy: {
    title: "Set a security policy",
    why: "Mask, redact or block personal data and prompt injection in every project.",
    action: "Set the policy",
    ask: "Ask an owner or admin to set one.",
  },
  credits: {
    title: "Add credits",
    why: "Priced models spend the organization's prepaid credits.",
    action: "Add credits",
    ask: "Ask the owner to add credits.",
  },
};

/** `onCreateProject`: the page's own "new project" dialog (the project step opens it instead of navigating). */
export function OnboardingCard({ onCreateProject }: { onCreateProject?: () => void }) {
  const org = useCurrentOrg();
  if (!org) return null;
  // Keyed: switching organizations starts afresh.
  return <Checklist key={org.slug} org={org.slug} orgName={org.name} onCreateProject={onCreateProject} />;
}

function Checklist({ org, orgName, onCreateProject }: { org: string; orgName: string; onCreateProject?: () => void }) {
  const q = useOnboarding(org);
  const hide = useDismissOnboarding(org);
  const { mutate: remember } = useDismissOnboarding(org, { quiet: true });
  const [phase, setPhase] = useState<"open" | "all-set" | "closed">("open");
  const data = q.data;
  const allDone = !!data && data.steps.every((s) => s.done);

  // Everything done: say so this once, and remember it so the card stays away from now on.
  useEffect(() => {
    if (phase === "open" && data && allDone && !data.dismissed) {
      setPhase("all-set");
      remember();
    }
  }, [phase, data, allDone, remember]);

  if (q.error) return <QueryError error={q.error} retry={() => q.refetch()} />;
  if (phase === "all-set") return <AllSet onClose={() => setPhase("closed")} />;
  if (!data || phase === "closed" || data.dismissed || allDone) return null;
  const done = data.steps.filter((s) => s.done).length;
  const total = data.steps.length;

  return (
    <Card withBorder p="lg" data-testid="onboarding" component="section" aria-label="Getting started">
      <Group justify="space-between" align="flex-start" wrap="nowrap">
        <Stack gap={2}>
          <Title order={3}>Get started</Title>
          <Text size="sm" c="dimmed">
            The first steps in {orgName}. Each one is ticked once it is really done.
          </Text>
        </Stack>
        <Group gap="sm" wrap="nowrap">
          <Text size="sm" fw={600} data-testid="onboarding-progress">
            {done} of {total}
          </Text>
          <CloseButton
            aria-label="Hide the getting-started checklist"
            disabled={hide.isPending}
            onClick={() => hide.mutate()}
          />
        </Group>
      </Group>
      <Progress value={(done / total) * 100} size="sm" mt="sm" mb="md" aria-label={`${done} of ${total} steps done`} />
      {hide.error && (
        <Text c="red" size="sm" role="alert" mb="sm">
          {hide.error.message}
        </Text>
      )}
      <Stack gap="sm">
        {data.steps.map((s, i) => (
          <StepRow key={s.id} step={s} n={i + 1} data={data} onCreateProject={onCreateProject} />
        ))}
      </Stack>
    </Card>
  );
}

function StepRow({
  step,
  n,
  data,
  onCreateProject,
}: {
  step: OnboardingStep;
  n: number;
  data: Onboarding;
  onCreateProject?: () => void;
}) {
  const [snippet, setSnippet] = useState(false);
  const copy = COPY[step.id];
  const project = data.project;
  let action: React.ReactNode;
  if (step.done) {
    action = (
      <Badge color="teal" variant="light">
        Done
      </Badge>
    );
  } else if (!step.canDo || !step.href) {
    action = (
      <Text size="sm" c="dimmed" ta="right" maw={240}>
        {copy.ask}
      </Text>
    );
  } else if (step.id === "project" && onCreateProject) {
    action = (
      <Button size="xs" onClick={onCreateProject}>
        {copy.action}
      </Button>
    );
  } else if (step.id === "first_request") {
    action = (
      <Button size="xs" variant="light" aria-expanded={snippet} onClick={() => setSnippet((v) => !v)}>
        {snippet ? "Hide the request snippet" : copy.action}
      </Button>
    );
  } else {
    action = (
      <Button size="xs" variant="light" component={Link} to={step.href}>
        {copy.action}
      </Button>
    );
  }

  return (
    <Stack gap="xs" data-testid={`onboarding-step-${step.id}`} data-done={String(step.done)}>
      <Group justify="space-between" wrap="nowrap">
        <Group gap="sm" wrap="nowrap" align="flex-start">
          <ThemeIcon
            radius="xl"
            size="md"
            color={step.done ? "teal" : "gray"}
            variant={step.done ? "filled" : "light"}
            role="img"
            aria-label={step.done ? "Done" : "Not done yet"}
          >
            {step.done ? "✓" : n}
          </ThemeIcon>
          <div>
            <Text fw={500} td={step.done ? "line-through" : undefined}>
              {copy.title}
            </Text>
            <Text size="sm" c="dimmed">
              {copy.why}
            </Text>
          </div>
        </Group>
        {action}
      </Group>
      {step.id === "first_request" && snippet && project && step.href && (
        <Stack gap="xs" pl={44} data-testid="onboarding-snippet">
          <Text size="sm">
            With a key of {project.name} in place of <code>YOUR_TOLLGATE_KEY</code> (
            <Anchor component={Link} to={step.href}>
              its keys
            </Anchor>
            ):
          </Text>
          <Snippets apiKey="YOUR_TOLLGATE_KEY" model={project.defaultModel ?? "mock/echo"} />
        </Stack>
      )}
    </Stack>
  );
}

function AllSet({ onClose }: { onClose: () => void }) {
  return (
    <Card withBorder p="lg" data-testid="onboarding-all-set" component="section" aria-label="Getting started">
      <Group justify="space-between" wrap="nowrap">
        <Stack gap={2}>
          <Title order={3}>You're all set</Title>
          <Text size="sm" c="dimmed">
            Every first step is done. This card will not show again.
          </Text>
        </Stack>
        <CloseButton aria-label="Close" onClick={onClose} />
      </Group>
    </Card>
  );
}
