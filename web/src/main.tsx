// The app: data client, live stream, and the routes (each page its own chunk, so the first
// load carries only the frame and the page it opens on).
import { lazy, StrictMode, Suspense, type ReactNode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Navigate, Route, Routes, useLocation } from "react-router";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { ApiError } from "./api";
import { Layout } from "./components/Layout";
import { LiveProvider } from "./live";
import { useToken } from "./session";
import { Loading } from "./components/ui";
import "./styles.css";

const Auth = lazy(() => import("./pages/Auth"));
const Home = lazy(() => import("./pages/Home"));
const Explore = lazy(() => import("./pages/Explore"));
const Search = lazy(() => import("./pages/Search"));
const Notifications = lazy(() => import("./pages/Notifications"));
const People = lazy(() => import("./pages/People"));
const PostPage = lazy(() => import("./pages/PostPage"));
const Profile = lazy(() => import("./pages/Profile"));
const Settings = lazy(() => import("./pages/Settings"));
const Moderation = lazy(() => import("./pages/Moderation"));
const Operations = lazy(() => import("./pages/Operations"));
const NotFound = lazy(() => import("./pages/NotFound"));

const client = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      // A 4xx will not change on retry; a network blip or a 503 may.
      retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status < 500),
    },
  },
});

function RequireSignIn({ children }: { children: ReactNode }) {
  const token = useToken();
  const location = useLocation();
  return token ? <>{children}</> : <Navigate to="/login" replace state={{ from: location.pathname }} />;
}

function App() {
  return (
    <Suspense fallback={<Loading />}>
    <Routes>
      <Route path="/login" element={<Auth mode="login" />} />
      <Route path="/signup" element={<Auth mode="signup" />} />
      <Route element={<Layout />}>
        <Route index element={<RequireSignIn><Home /></RequireSignIn>} />
        <Route path="explore" element={<Explore />} />
        <Route path="search" element={<Search />} />
        <Route path="notifications" element={<RequireSignIn><Notifications /></RequireSignIn>} />
        <Route path="people" element={<RequireSignIn><People /></RequireSignIn>} />
        <Route path="settings" element={<RequireSignIn><Settings /></RequireSignIn>} />
        <Route path="moderation" element={<RequireSignIn><Moderation /></RequireSignIn>} />
        <Route path="operations" element={<RequireSignIn><Operations /></RequireSignIn>} />
        <Route path="p/:id" element={<PostPage />} />
        <Route path="u/:username" element={<Profile tab="posts" />} />
        <Route path="u/:username/followers" element={<Profile tab="followers" />} />
        <Route path="u/:username/following" element={<Profile tab="following" />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
    </Suspense>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={client}>
      <LiveProvider>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </LiveProvider>
    </QueryClientProvider>
  </StrictMode>,
);
