// A client route that names no page.
import { Link } from "react-router";
import { Empty, useTitle } from "../components/ui";

export default function NotFound() {
  useTitle("Page not found");
  return (
    <>
      <h1 className="page-title">Page not found</h1>
      <Empty title="There is nothing at this address">
        <Link to="/">Go to your home feed</Link> or <Link to="/explore">explore</Link>.
      </Empty>
    </>
  );
}
