import { lazy, Suspense } from "react";
import { Navigate, Route, Routes } from "react-router";
import { OrgLayout } from "./layout";
import { ForgotPasswordPage, ResetPasswordPage, VerifyEmailPage } from "./pages/account";
import { AdminPage } from "./pages/admin";
import { AuditPage } from "./pages/audit";
import { SignInPage, SignUpPage } from "./pages/auth";
import { DangerZonePage } from "./pages/danger";
import { GeneralPage } from "./pages/general";
import { HomeRedirect, NotFoundPage } from "./pages/misc";
import { InvitePage } from "./pages/invite";
import { KeysPage } from "./pages/keys";
import { ApiTokensPage } from "./pages/api-tokens";
import { SsoPage } from "./pages/sso";
import { SsoSignInPage } from "./pages/sso-sign-in";
import { LogDetailPage, LogsPage } from "./pages/logs";
import { PlaygroundPage } from "./pages/playground";
import { LogDestinationsPage } from "./pages/log-destinations";
import { ProjectLayout } from "./pages/project";
import { ProjectSettingsPage } from "./pages/project-settings";
import { ProjectsPage } from "./pages/projects";
import { ProvidersPage } from "./pages/providers";
import { SecurityPage } from "./pages/security";
import { TeamPage } from "./pages/team";
import { VirtualModelsPage } from "./pages/virtual-models";
import { PageLoader, RequireCan } from "./session";

// The chart pages load on demand: the charting library is most of their weight.
const ProjectOverviewPage = lazy(() => import("./pages/overview").then((m) => ({ default: m.ProjectOverviewPage })));
const BillingPage = lazy(() => import("./pages/billing").then((m) => ({ default: m.BillingPage })));

export function AppRoutes() {
  return (
    <Suspense fallback={<PageLoader />}>
      <Routes>
        <Route path="/sign-in" element={<SignInPage />} />
        <Route path="/sign-in/sso" element={<SsoSignInPage />} />
        <Route path="/sign-up" element={<SignUpPage />} />
        <Route path="/forgot-password" element={<ForgotPasswordPage />} />
        <Route path="/reset-password" element={<ResetPasswordPage />} />
        <Route path="/verify-email" element={<VerifyEmailPage />} />
        <Route path="/invite/:token" element={<InvitePage />} />
        <Route path="/" element={<HomeRedirect />} />
        <Route path="/admin" element={<AdminPage />} />
        <Route path="/:org" element={<OrgLayout />}>
          <Route index element={<ProjectsPage />} />
          <Route path="projects/:project" element={<ProjectLayout />}>
            <Route index element={<ProjectOverviewPage />} />
            <Route path="keys" element={<KeysPage />} />
            <Route path="logs" element={<LogsPage />} />
            <Route path="playground" element={<PlaygroundPage />} />
            <Route path="logs/:requestId" element={<LogDetailPage />} />
            <Route
              path="settings"
              element={
                <RequireCan cap={["project", "update"]} what="Project settings">
                  <ProjectSettingsPage />
                </RequireCan>
              }
            />
          </Route>
          <Route
            path="providers"
            element={
              <RequireCan cap={["provider", "read"]} what="Providers">
                <ProvidersPage />
              </RequireCan>
            }
          />
          <Route
            path="routing"
            element={
              <RequireCan cap={["virtualModel", "read"]} what="Routing">
                <VirtualModelsPage />
              </RequireCan>
            }
          />
          <Route
            path="security"
            element={
              <RequireCan cap={["incident", "read"]} what="Security">
                <SecurityPage />
              </RequireCan>
            }
          />
          <Route
            path="audit"
            element={
              <RequireCan cap={["audit", "read"]} what="The audit log">
                <AuditPage />
              </RequireCan>
            }
          />
          <Route path="settings" element={<Navigate to="general" replace />} />
          <Route path="settings/general" element={<GeneralPage />} />
          <Route path="settings/team" element={<TeamPage />} />
          <Route
            path="settings/billing"
            element={
              <RequireCan cap={["billing", "read"]} what="Billing">
                <BillingPage />
              </RequireCan>
            }
          />
          <Route
            path="settings/log-destinations"
            element={
              <RequireCan cap={["logDestination", "read"]} what="Log destinations">
                <LogDestinationsPage />
              </RequireCan>
            }
          />
          <Route
            path="settings/api-tokens"
            element={
              <RequireCan cap={["apiToken", "read"]} what="API tokens">
                <ApiTokensPage />
              </RequireCan>
            }
          />
          <Route
            path="settings/sso"
            element={
              <RequireCan cap={["sso", "read"]} what="Single sign-on">
                <SsoPage />
              </RequireCan>
            }
          />
          <Route
            path="settings/danger"
            element={
              <RequireCan cap={["org", "delete"]} what="The danger zone">
                <DangerZonePage />
              </RequireCan>
            }
          />
          <Route path="*" element={<NotFoundPage />} />
        </Route>
        <Route path="*" element={<NotFoundPage />} />
      </Routes>
    </Suspense>
  );
}
