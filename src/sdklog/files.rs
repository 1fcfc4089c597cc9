//! The log's daily files in one folder: appending, a new file per UTC day, and the caps
//! (days kept, total size) that delete the oldest files first.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use super::line::{day_minus, format_line, utc_day};
use super::{KEEP_DAYS, Record, Settings};

/// The daily files of one folder and their size cap.
pub(super) struct Files {
    pub(super) settings: Settings,
    day: u32,
    file: Option<File>,
    /// Bytes in the folder's log files (as last counted, plus what was written since).
    total: u64,
    current: u64,
}

impl Files {
    pub(super) fn new(settings: Settings) -> Files {
        Files { settings, day: 0, file: None, total: 0, current: 0 }
    }

    fn path(&self, day: u32) -> PathBuf {
        self.settings.dir.join(format!("cloudpay-{day:08}.log"))
    }

    /// Opens (appends to) the file of `day`, deleting what is out of the cap first.
    pub(super) fn open(&mut self, day: u32) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.settings.dir)?;
        self.file = None;
        let path = self.path(day);
        let f = OpenOptions::new().create(true).append(true).open(&path)?;
        self.current = f.metadata().map(|m| m.len()).unwrap_or(0);
        self.file = Some(f);
        self.day = day;
        self.prune()?;
        Ok(())
    }

    pub(super) fn append(&mut self, batch: &[Record]) -> std::io::Result<()> {
        let mut text = String::new();
        for r in batch {
            let day = r.at.map(utc_day).unwrap_or(self.day);
            if day != self.day || self.file.is_none() {
                self.flush(&mut text)?;
                self.open(day)?;
            }
            format_line(r, &mut text);
        }
        self.flush(&mut text)
    }

    fn flush(&mut self, text: &mut String) -> std::io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        let Some(f) = self.file.as_mut() else { return Err(std::io::Error::other("no log file open")) };
        if let Err(e) = f.write_all(text.as_bytes()) {
            self.file = None;
            return Err(e);
        }
        self.total += text.len() as u64;
        self.current += text.len() as u64;
        text.clear();
        if self.total > self.settings.max_bytes {
            // Today's file alone may not fill the cap: it goes on in a new file, and the
            // older part is deleted first like an older day.
            if self.current > self.settings.max_bytes / 4 {
                self.set_aside()?;
            }
            self.prune()?;
        }
        Ok(())
    }

    /// Renames today's file to `cloudpay-YYYYMMDD.NNN.log` (sorts before it) and starts afresh.
    fn set_aside(&mut self) -> std::io::Result<()> {
        self.file = None;
        let now = self.path(self.day);
        let part = (1..1000)
            .map(|n| self.settings.dir.join(format!("cloudpay-{:08}.{n:03}.log", self.day)))
            .find(|p| !p.exists());
        if let Some(part) = part {
            std::fs::rename(&now, part)?;
        } else {
            std::fs::remove_file(&now)?;
        }
        let f = OpenOptions::new().create(true).append(true).open(&now)?;
        self.current = 0;
        self.file = Some(f);
        Ok(())
    }

    /// Deletes files older than [`KEEP_DAYS`], then the oldest until the total fits the cap.
    /// Only this log's files (`cloudpay-*.log`) are touched; the file being written is kept.
    fn prune(&mut self) -> std::io::Result<()> {
        let mut logs: Vec<(String, u64)> = Vec::new();
        for entry in std::fs::read_dir(&self.settings.dir)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("cloudpay-") && name.ends_with(".log") && entry.file_type().is_ok_and(|t| t.is_file()) {
                logs.push((name, entry.metadata().map(|m| m.len()).unwrap_or(0)));
            }
        }
        logs.sort();
        let current = format!("cloudpay-{:08}.log", self.day);
        let oldest_kept = day_minus(self.day, KEEP_DAYS - 1);
        let mut total: u64 = logs.iter().map(|(_, n)| n).sum();
        for (name, len) in &logs {
            if *name == current {
                continue;
            }
            let day = name.get(9..17).and_then(|d| d.parse::<u32>().ok()).unwrap_or(0);
            if (day < oldest_kept || total > self.settings.max_bytes)
                && std::fs::remove_file(self.settings.dir.join(name)).is_ok()
            {
                total = total.saturating_sub(*len);
            }
        }
        self.total = total;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::is_log_file;
    use super::*;
    use std::time::SystemTime;

    #[test]
    fn the_cap_deletes_the_oldest_files_and_old_days() {
        let dir = std::env::temp_dir().join(format!("cps-sdklog-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let today = utc_day(SystemTime::now());
        let old = day_minus(today, 30);
        let (d2, d1) = (day_minus(today, 2), day_minus(today, 1));
        for d in [old, d2, d1] {
            std::fs::write(dir.join(format!("cloudpay-{d}.log")), vec![b'x'; 1500]).unwrap();
        }
        std::fs::write(dir.join("other.log"), "not ours").unwrap();
        let mut f = Files::new(Settings { dir: dir.clone(), max_bytes: 2000 });
        f.open(today).unwrap();
        let names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(!names.contains(&format!("cloudpay-{old}.log")), "older than {KEEP_DAYS} days: {names:?}");
        assert!(!names.contains(&format!("cloudpay-{d2}.log")), "oldest first: {names:?}");
        assert!(names.contains(&format!("cloudpay-{d1}.log")) && names.contains(&"other.log".to_owned()), "{names:?}");
        // Today's file past a quarter of the cap goes on in a new file; the total stays capped.
        let many: Vec<Record> =
            (0..40).map(|i| Record { what: "cloud_pay_query_order", code: Some(i), ..Record::default() }).collect();
        f.append(&many).unwrap();
        let total: u64 = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| is_log_file(&e.path()))
            .map(|e| e.metadata().unwrap().len())
            .sum();
        assert!(total <= 2000 + 200, "total {total}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
