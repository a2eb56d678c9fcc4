/**
 * The frame around every organization page: the organization switcher (top
 * left), the profile menu with Create Organization, Change password and Sign
 * out (top right), and the sidebar. Switching organization navigates to its
 * URL; the server remembers the choice (`PATCH /api/v1/me`) so the next
 * sign-in lands there.
 */
import {
  AppShell,
  Avatar,
  Burger,
  Button,
  Group,
  Menu,
  Modal,
  NavLink,
  ScrollArea,
  Stack,
  Text,
  Textarea,
  TextInput,
  UnstyledButton,
  VisuallyHidden,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { useDisclosure } from "@mantine/hooks";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Suspense, useEffect, useState } from "react";
import { Link, Navigate, Outlet, useLocation, useNavigate, useParams } from "react-router";
import { can } from "../../src/platform/permissions";
import { api, ApiError, formErrors, type Me, type Org } from "./api";
import { PageErrorBoundary } from "./boundary";
import { Logo } from "./brand";
import { ChangePasswordModal } from "./change-password";
import { ColorSchemeControl } from "./color-scheme-control";
import { roleLabel } from "./labels";
import { meKey, PageLoader, QueryError, useMe } from "./session";
import { DisabledOrgBanner, useIsOperator } from "./pages/admin";
import { SsoRequired } from "./sso-required";
import { TwoFactorModal, TwoFactorRequired } from "./two-factor";
import { FormFooter } from "./form-footer";

export function OrgLayout() {
  const { org: slug } = useParams();
  const me = useMe();
  const qc = useQueryClient();
  const [navOpen, nav] = useDisclosure(false);
  const location = useLocation();
  const current = me.data?.organizations.find((o) => o.slug === slug);

  // Remember the organization the user is looking at.
  const remember = useMutation({
    mutationFn: (s: string) => api.patch<Me>("/api/v1/me", { activeOrganization: s }),
    onSuccess: (data) => qc.setQueryData(meKey, data),
  });
  const currentSlug = current?.slug;
  const activeOrg = me.data?.activeOrganization;
  // biome-ignore lint/correctness/useExhaustiveDependencies(remember.isPending): it only keeps a second PATCH from starting while one is in flight; re-running when it settles would retry a failed one without end
  useEffect(() => {
    if (currentSlug && activeOrg !== currentSlug && !remember.isPending) remember.mutate(currentSlug);
  }, [currentSlug, activeOrg, remember.mutate]);
  // biome-ignore lint/correctness/useExhaustiveDependencies(location.pathname): the trigger, not an input: the mobile navbar closes whenever the route changes
  useEffect(() => {
    nav.close();
  }, [location.pathname, nav.close]);

  if (me.isPending) return <PageLoader />;
  if (me.error instanceof ApiError && me.error.status === 401)
    return <Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname)}`} replace />;
  if (me.error) return <QueryError error={me.error} retry={() => me.refetch()} />;

  return (
    <AppShell
      header={{ height: 60 }}
      navbar={{ width: 240, breakpoint: "sm", collapsed: { mobile: !navOpen } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={navOpen} onClick={nav.toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <UnstyledButton component={Link} to={current ? `/${current.slug}` : "/"} data-testid="home-link">
              <Logo />
            </UnstyledButton>
            <OrgSwitcher me={me.data} current={current} />
          </Group>
          <ProfileMenu me={me.data} />
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="sm">
        <ScrollArea>{current && <Sidebar org={current} />}</ScrollArea>
      </AppShell.Navbar>
      <AppShell.Main>
        {current?.ssoSignInNeeded ? (
          <SsoRequired org={current} email={me.data.user.email} />
        ) : current?.requireTwoFactor && !me.data.user.twoFactorEnabled ? (
          <TwoFactorRequired org={current} />
        ) : current ? (
          <PageErrorBoundary resetKey={location.pathname}>
            <DisabledOrgBanner slug={current.slug} />
            <Suspense fallback={<PageLoader />}>
              <Outlet />
            </Suspense>
          </PageErrorBoundary>
        ) : (
          <Stack align="center" py="xl">
            <Text fw={600}>No organization “{slug}” among yours.</Text>
            <Text c="dimmed" size="sm">
              It may have been deleted, or you were removed from it.
            </Text>
            <Button component={Link} to="/">
              Go to my organizations
            </Button>
          </Stack>
        )}
      </AppShell.Main>
    </AppShell>
  );
}

function OrgSwitcher({ me, current }: { me: Me; current: Org | undefined }) {
  const navigate = useNavigate();
  return (
    <Menu position="bottom-start" width={280} shadow="md">
      <Menu.Target>
        <UnstyledButton data-testid="org-switcher" style={{ maxWidth: 340 }}>
          <Group gap={6} wrap="nowrap">
            {/* The name as shown, after what the button does (the accessible name contains the visible text). */}
            <VisuallyHidden>Switch organization:</VisuallyHidden>
            <Avatar size="sm" color="indigo" radius="sm" aria-hidden>
              {(current?.name ?? "?").slice(0, 1).toUpperCase()}
            </Avatar>
            <Text fw={600} truncate>
              {current?.name ?? "Choose organization"}
            </Text>
            {current && (
              <Text size="xs" c="dimmed" ff="monospace" truncate visibleFrom="md" data-testid="org-switcher-slug">
                {current.slug}
              </Text>
            )}
            <Text c="dimmed" aria-hidden>
              ▾
            </Text>
          </Group>
        </UnstyledButton>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>Your organizations</Menu.Label>
        {me.organizations.map((o) => (
          <Menu.Item
            key={o.id}
            onClick={() => navigate(`/${o.slug}`)}
            rightSection={
              <Text size="xs" c="dimmed">
                {roleLabel(o.role)}
              </Text>
            }
            fw={o.slug === current?.slug ? 700 : 400}
            data-testid={`org-option-${o.slug}`}
          >
            <Stack gap={0}>
              <Text size="sm" fw="inherit" truncate>
                {o.name}
              </Text>
              <Text size="xs" c="dimmed" ff="monospace" truncate>
                {o.slug}
              </Text>
            </Stack>
          </Menu.Item>
        ))}
      </Menu.Dropdown>
    </Menu>
  );
}

function ProfileMenu({ me }: { me: Me }) {
  const [createOpen, create] = useDisclosure(false);
  const [passwordOpen, password] = useDisclosure(false);
  const [twoFactorOpen, twoFactor] = useDisclosure(false);
  const isOperator = useIsOperator();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const signOut = useMutation({
    mutationFn: () => api.post("/api/auth/sign-out"),
    onSettled: () => {
      qc.clear();
      navigate("/sign-in");
    },
  });
  return (
    <>
      <Menu position="bottom-end" width={240} shadow="md">
        <Menu.Target>
          <UnstyledButton data-testid="profile-menu">
            <Group gap={8} wrap="nowrap">
              <VisuallyHidden>Profile menu:</VisuallyHidden>
              <Avatar size="sm" radius="xl" color="gray" aria-hidden>
                {me.user.name.slice(0, 1).toUpperCase()}
              </Avatar>
              <Text size="sm" visibleFrom="sm" truncate maw={160}>
                {me.user.name}
              </Text>
            </Group>
          </UnstyledButton>
        </Menu.Target>
        <Menu.Dropdown>
          <Menu.Label>{me.user.email}</Menu.Label>
          <Menu.Item onClick={create.open}>Create Organization</Menu.Item>
          <Menu.Item onClick={password.open}>Change password</Menu.Item>
          <Menu.Item onClick={twoFactor.open}>Two-factor authentication</Menu.Item>
          {isOperator && (
            <Menu.Item component={Link} to="/admin">
              Admin
            </Menu.Item>
          )}
          <Menu.Divider />
          <ColorSchemeControl />
          <Menu.Divider />
          <Menu.Item color="red" onClick={() => signOut.mutate()}>
            Sign out
          </Menu.Item>
        </Menu.Dropdown>
      </Menu>
      <CreateOrgModal opened={createOpen} onClose={create.close} />
      <ChangePasswordModal opened={passwordOpen} onClose={password.close} />
      <TwoFactorModal opened={twoFactorOpen} onClose={twoFactor.close} />
    </>
  );
}

function CreateOrgModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({
    initialValues: { name: "", description: "" },
    validate: { name: (v) => (v.trim() ? null : "Name is required.") },
  });
  const create = useMutation({
    mutationFn: (v: typeof form.values) =>
      api.post<Org>("/api/v1/orgs", { name: v.name.trim(), description: v.description.trim() || undefined }),
    onSuccess: async (org) => {
      await qc.invalidateQueries({ queryKey: meKey });
      form.reset();
      onClose();
      navigate(`/${org.slug}`);
    },
    onError: (err) => {
      const e = formErrors(err, ["name", "description"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  return (
    <Modal opened={opened} onClose={onClose} title="Create Organization">
      <form onSubmit={form.onSubmit((v) => create.mutate(v))}>
        <Stack>
          <TextInput label="Name" placeholder="Acme Corp" required data-autofocus {...form.getInputProps("name")} />
          <Textarea
            label="Description"
            placeholder="What this organization is for"
            autosize
            minRows={2}
            {...form.getInputProps("description")}
          />
          <FormFooter error={general} onCancel={onClose} submitLabel="Create" loading={create.isPending} />
        </Stack>
      </form>
    </Modal>
  );
}

function Sidebar({ org }: { org: Org }) {
  const location = useLocation();
  const base = `/${org.slug}`;
  const link = (to: string, label: string, exact = false) => {
    const active = exact
      ? location.pathname === to
      : location.pathname === to || location.pathname.startsWith(`${to}/`);
    return <NavLink key={to} component={Link} to={to} label={label} active={active} />;
  };
  const isProjects = location.pathname === base || location.pathname.startsWith(`${base}/projects`);
  return (
    <Stack gap={2}>
      <NavLink component={Link} to={base} label="Projects" active={isProjects} />
      {can(org.role, "provider", "read") && link(`${base}/providers`, "Providers")}
      {can(org.role, "virtualModel", "read") && link(`${base}/routing`, "Routing")}
      {can(org.role, "incident", "read") && link(`${base}/security`, "Security")}
      {can(org.role, "audit", "read") && link(`${base}/audit`, "Audit log")}
      <Text size="xs" fw={700} c="dimmed" tt="uppercase" mt="md" mb={4} px="sm">
        Organization settings
      </Text>
      {link(`${base}/settings/general`, "General")}
      {link(`${base}/settings/team`, "Team")}
      {can(org.role, "billing", "read") && link(`${base}/settings/billing`, "Billing")}
      {can(org.role, "logDestination", "read") && link(`${base}/settings/log-destinations`, "Log destinations")}
      {can(org.role, "apiToken", "read") && link(`${base}/settings/api-tokens`, "API tokens")}
      {can(org.role, "sso", "read") && link(`${base}/settings/sso`, "Single sign-on")}
      {can(org.role, "org", "delete") && link(`${base}/settings/danger`, "Danger Zone")}
    </Stack>
  );
}
