// A row of tabs that are links or buttons; the current one is marked for screen readers.
import { Link } from "react-router";

interface Tab {
  id: string;
  label: string;
  to?: string;
}

export function Tabs({ label, tabs, current, onChange }: { label: string; tabs: Tab[]; current: string; onChange?: (id: string) => void }) {
  return (
    <nav className="tabs" aria-label={label}>
      {tabs.map((tab) =>
        tab.to ? (
          <Link key={tab.id} to={tab.to} className="tab" aria-current={tab.id === current ? "page" : undefined}>
            {tab.label}
          </Link>
        ) : (
          <button key={tab.id} type="button" className="tab" aria-current={tab.id === current ? "page" : undefined} onClick={() => onChange?.(tab.id)}>
            {tab.label}
          </button>
        ),
      )}
    </nav>
  );
}
